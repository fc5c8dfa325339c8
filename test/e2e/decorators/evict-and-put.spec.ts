import 'reflect-metadata';
import { Injectable } from '@nestjs/common';
import { Cacheable, CacheEvict, CachePut, CacheService } from '../../../lib/index.js';
import { RedisServer } from '../../support/redis-server.js';
import { type CacheApp, startCacheApp } from './support/cache-app.js';

interface Product {
  id: string;
  name: string;
}

/** An in-memory repository behind cached reads; counts every body that ran. */
@Injectable()
class CatalogueService {
  readonly rows = new Map<string, Product>();
  readonly runs = new Map<string, number>();
  private nextId = 1;

  @Cacheable({ key: 'product:{0}' })
  async findOne(id: string): Promise<Product | null> {
    this.ran('findOne');
    return this.rows.get(id) ?? null;
  }

  @CacheEvict({ key: 'product:{0}' })
  async rename(id: string, name: string): Promise<Product> {
    this.ran('rename');
    const row = this.rows.get(id);
    if (!row) throw new Error(`no product ${id}`);
    const updated = { ...row, name };
    this.rows.set(id, updated);
    return updated;
  }

  @CacheEvict({ key: 'product:{0}', beforeInvocation: true })
  async renameOrFail(id: string, name: string): Promise<Product> {
    this.ran('renameOrFail');
    if (name === '') throw new Error('empty name');
    return this.rename(id, name);
  }

  @CacheEvict({ key: 'product:{result.id}' })
  async renameByName(oldName: string, name: string): Promise<Product> {
    this.ran('renameByName');
    const row = [...this.rows.values()].find((product) => product.name === oldName);
    if (!row) throw new Error(`no product named ${oldName}`);
    const updated = { ...row, name };
    this.rows.set(row.id, updated);
    return updated;
  }

  @CachePut({ key: 'product:{result.id}', ttl: '1m' })
  async create(dto: { name: string }): Promise<Product> {
    this.ran('create');
    const product = { id: `p${this.nextId++}`, name: dto.name };
    this.rows.set(product.id, product);
    return product;
  }

  @CachePut({ key: 'product:{0.id}', condition: (product: Product) => product.name !== 'draft' })
  async save(product: Product): Promise<Product> {
    this.ran('save');
    if (product.name === 'broken') throw new Error('disk full');
    this.rows.set(product.id, product);
    return product;
  }

  @CacheEvict({ key: 'product-list' })
  @CachePut({ key: 'product:{0}' })
  async replace(id: string, name: string): Promise<Product> {
    this.ran('replace');
    const product = { id, name };
    this.rows.set(id, product);
    return product;
  }

  @Cacheable({ key: 'product-list' })
  async list(): Promise<Product[]> {
    this.ran('list');
    return [...this.rows.values()];
  }

  count(method: string): number {
    return this.runs.get(method) ?? 0;
  }

  private ran(method: string): void {
    this.runs.set(method, this.count(method) + 1);
  }
}

let redis: RedisServer;
const apps: CacheApp[] = [];

async function start(): Promise<CacheApp & { catalogue: CatalogueService }> {
  const app = await startCacheApp(redis, { fixture: { providers: [CatalogueService] } });
  apps.push(app);
  const catalogue = app.get(CatalogueService);
  catalogue.rows.set('1', { id: '1', name: 'Chair' });
  return { ...app, catalogue };
}

beforeAll(async () => {
  redis = await RedisServer.start();
});

afterEach(async () => {
  await Promise.all(apps.splice(0).map(({ app }) => app.close()));
  await redis.cli('FLUSHALL');
});

afterAll(async () => {
  await redis.stop();
});

describe('@CacheEvict (real Redis)', () => {
  it('deletes the key from L1 and Redis after the method succeeds', async () => {
    const { catalogue, cache } = await start();
    await catalogue.findOne('1');
    await cache.flush();
    expect(await redis.cli('EXISTS', 'decorators:product:1')).toBe('1');

    await catalogue.rename('1', 'Armchair');
    expect(await redis.cli('EXISTS', 'decorators:product:1')).toBe('0');
    expect(await catalogue.findOne('1')).toEqual({ id: '1', name: 'Armchair' });
    expect(catalogue.count('findOne')).toBe(2);
  });

  it('evicts nothing when the method throws', async () => {
    const { catalogue } = await start();
    await catalogue.findOne('404');
    await expect(catalogue.rename('404', 'x')).rejects.toThrow('no product 404');
    await catalogue.findOne('404');
    expect(catalogue.count('findOne')).toBe(1);
  });

  it('evicts before the method with beforeInvocation, even when it throws', async () => {
    const { catalogue } = await start();
    await catalogue.findOne('1');
    await expect(catalogue.renameOrFail('1', '')).rejects.toThrow('empty name');
    await catalogue.findOne('1');
    expect(catalogue.count('findOne')).toBe(2);
  });

  it('builds the key from the result', async () => {
    const { catalogue } = await start();
    await catalogue.findOne('1');
    await catalogue.renameByName('Chair', 'Stool');
    expect(await catalogue.findOne('1')).toEqual({ id: '1', name: 'Stool' });
    expect(catalogue.count('findOne')).toBe(2);
  });

  it('evicts an entry another instance will then miss in Redis', async () => {
    const a = await start();
    const b = await start();
    b.catalogue.rows.set('1', { id: '1', name: 'Sofa' });
    await a.catalogue.findOne('1');
    await a.cache.flush();
    await a.catalogue.rename('1', 'Bench');
    expect(await b.catalogue.findOne('1')).toEqual({ id: '1', name: 'Sofa' });
    expect(b.catalogue.count('findOne')).toBe(1);
  });
});

describe('@CachePut (real Redis)', () => {
  it('always runs the method and stores the result where @Cacheable reads it', async () => {
    const { catalogue, cache } = await start();
    const created = await catalogue.create({ name: 'Lamp' });
    const again = await catalogue.create({ name: 'Lamp' });
    expect(catalogue.count('create')).toBe(2);
    expect(again.id).not.toBe(created.id);

    expect(await catalogue.findOne(created.id)).toEqual(created);
    expect(catalogue.count('findOne')).toBe(0);
    await cache.flush();
    expect(await redis.cli('PTTL', `decorators:product:${created.id}`)).toMatch(/^(5\d{4}|60000)$/);
  });

  it('replaces a cached entry with the new result', async () => {
    const { catalogue } = await start();
    await catalogue.findOne('1');
    await catalogue.save({ id: '1', name: 'Recliner' });
    expect(await catalogue.findOne('1')).toEqual({ id: '1', name: 'Recliner' });
    expect(catalogue.count('findOne')).toBe(1);
    expect(catalogue.count('save')).toBe(1);
  });

  it('runs but does not store when condition returns false', async () => {
    const { catalogue, cache } = await start();
    await catalogue.save({ id: '9', name: 'draft' });
    expect(catalogue.count('save')).toBe(1);
    expect(await cache.get('product:9')).toBeUndefined();
  });

  it('stores nothing when the method throws', async () => {
    const { catalogue, cache } = await start();
    await expect(catalogue.save({ id: '8', name: 'broken' })).rejects.toThrow('disk full');
    expect(await cache.get('product:8')).toBeUndefined();
  });

  it('combines with @CacheEvict on one method: stores one key, evicts another', async () => {
    const { catalogue, get } = await start();
    await catalogue.list();
    expect(await catalogue.replace('2', 'Table')).toEqual({ id: '2', name: 'Table' });
    const cache = get(CacheService);
    expect(await cache.get('product:2')).toEqual({ id: '2', name: 'Table' });
    expect(await cache.get('product-list')).toBeUndefined();
    expect((await catalogue.list()).map((product) => product.name)).toEqual(['Chair', 'Table']);
    expect(catalogue.count('list')).toBe(2);
  });
});

@Injectable()
class TaggedCatalogue {
  runs = 0;

  @Cacheable({
    key: 'tagged:{0}',
    // Tags may depend on the result: it comes after the declared parameters.
    tags: (id: string, result: { brand: string }) => [`product:${id}`, `brand:${result.brand}`],
  })
  async findOne(id: string): Promise<{ id: string; brand: string }> {
    this.runs++;
    return { id, brand: id === '1' ? 'acme' : 'other' };
  }

  @CachePut({ key: 'tagged:{0.id}', tags: ['products'] })
  async save(product: { id: string; brand: string }): Promise<{ id: string; brand: string }> {
    return product;
  }

  @CacheEvict({ tags: (id: string) => [`product:${id}`] })
  async touch(id: string): Promise<string> {
    return id;
  }

  @CacheEvict({ tags: ['products'] })
  async touchAll(): Promise<void> {}
}

@Injectable()
class NamespacedCatalogue {
  runs = 0;

  @Cacheable({ namespace: 'catalogue', key: 'item:{0}' })
  async findOne(id: string): Promise<string> {
    this.runs++;
    return `item ${id}`;
  }

  @CacheEvict({ namespace: 'catalogue', allEntries: true })
  async reindex(): Promise<void> {}
}

@Injectable()
class ClearingCatalogue {
  @CacheEvict({ allEntries: true })
  async reset(): Promise<void> {}
}

describe('@CacheEvict with tags and allEntries (real Redis)', () => {
  it('makes entries with an evicted tag miss, tags computed from arguments and result', async () => {
    const app = await startCacheApp(redis, { fixture: { providers: [TaggedCatalogue] } });
    apps.push(app);
    const catalogue = app.get(TaggedCatalogue);
    await catalogue.findOne('1');
    await catalogue.findOne('2');
    await catalogue.touch('1');
    await catalogue.findOne('1');
    await catalogue.findOne('2');
    expect(catalogue.runs).toBe(3);
    await app.cache.invalidateTags(['brand:other']);
    await catalogue.findOne('1');
    await catalogue.findOne('2');
    expect(catalogue.runs).toBe(4);
  });

  it('stores @CachePut entries with their tags', async () => {
    const app = await startCacheApp(redis, { fixture: { providers: [TaggedCatalogue] } });
    apps.push(app);
    const catalogue = app.get(TaggedCatalogue);
    await catalogue.save({ id: '5', brand: 'acme' });
    expect(await catalogue.findOne('5')).toEqual({ id: '5', brand: 'acme' });
    expect(catalogue.runs).toBe(0);
    await catalogue.touchAll();
    expect(await app.cache.get('tagged:5')).toBeUndefined();
  });

  it('evicts every entry of a decorator namespace with allEntries, and nothing else', async () => {
    const app = await startCacheApp(redis, { fixture: { providers: [NamespacedCatalogue] } });
    apps.push(app);
    const catalogue = app.get(NamespacedCatalogue);
    await app.cache.set('outside', 'kept');
    await catalogue.findOne('1');
    await catalogue.findOne('2');
    await catalogue.reindex();
    await catalogue.findOne('1');
    await catalogue.findOne('2');
    expect(catalogue.runs).toBe(4);
    expect(await app.cache.get('outside')).toBe('kept');
  });

  it('clears the whole cache namespace with allEntries and no namespace', async () => {
    const app = await startCacheApp(redis, { fixture: { providers: [ClearingCatalogue] } });
    apps.push(app);
    await app.cache.set('a', 1);
    await app.get(ClearingCatalogue).reset();
    expect(await app.cache.get('a')).toBeUndefined();
  });
});
