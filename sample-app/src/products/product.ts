/** A catalogue entry. */
export interface Product {
  id: string;
  name: string;
  priceCents: number;
  updatedAt: Date;
}

/** Fields a client may send to create or update a product. */
export interface ProductInput {
  name: string;
  priceCents: number;
}
