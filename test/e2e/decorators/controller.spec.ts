import 'reflect-metadata';
import {
  Body,
  type CallHandler,
  type CanActivate,
  Controller,
  type ExecutionContext,
  Get,
  Injectable,
  type NestInterceptor,
  Param,
  ParseIntPipe,
  Put,
  Query,
  UseGuards,
  UseInterceptors,
} from '@nestjs/common';
import { map, type Observable, of } from 'rxjs';
import request from 'supertest';
import { Cacheable, CacheEvict } from '../../../lib/index.js';
import { RedisServer } from '../../support/redis-server.js';
import { type CacheApp, startCacheApp } from './support/cache-app.js';

@Injectable()
class ApiKeyGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    return (
      context.switchToHttp().getRequest<{ headers: Record<string, string | undefined> }>().headers[
        'x-api-key'
      ] === 'secret'
    );
  }
}

/** Runs around the handler on hits and misses alike: the cache lives inside the handler. */
@Injectable()
class StampInterceptor implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    context
      .switchToHttp()
      .getResponse<{ setHeader(name: string, value: string): void }>()
      .setHeader('x-stamp', 'stamped');
    return next
      .handle()
      .pipe(map((body: Record<string, unknown>) => ({ ...body, intercepted: true })));
  }
}

interface Item {
  id: number;
  idType: string;
  q?: string;
}

/** Counts the handler bodies that ran, per controller. */
abstract class CountingController {
  runs = 0;
  protected item(id: number, q?: string): Item {
    this.runs++;
    return { id, idType: typeof id, ...(q === undefined ? {} : { q }) };
  }
}

@Controller('above')
@UseGuards(ApiKeyGuard)
class CacheableAboveController extends CountingController {
  @Cacheable({ key: 'above:{0}:{1}' })
  @Get(':id')
  @UseInterceptors(StampInterceptor)
  async findOne(@Param('id', ParseIntPipe) id: number, @Query('q') q?: string): Promise<Item> {
    return this.item(id, q);
  }

  @CacheEvict({ key: 'above:{0}:{1.q}' })
  @Put(':id')
  async rename(
    @Param('id', ParseIntPipe) id: number,
    @Body() body: { q: string },
  ): Promise<{ renamed: number; q: string }> {
    return { renamed: id, q: body.q };
  }
}

@Controller('below')
@UseGuards(ApiKeyGuard)
class CacheableBelowController extends CountingController {
  @Get(':id')
  @UseInterceptors(StampInterceptor)
  @Cacheable({ key: 'below:{0}:{1}' })
  async findOne(@Param('id', ParseIntPipe) id: number, @Query('q') q?: string): Promise<Item> {
    return this.item(id, q);
  }

  @Put(':id')
  @CacheEvict({ key: 'below:{0}:{1.q}' })
  async rename(
    @Param('id', ParseIntPipe) id: number,
    @Body() body: { q: string },
  ): Promise<{ renamed: number; q: string }> {
    return { renamed: id, q: body.q };
  }

  @Cacheable()
  @Get('stream/:id')
  stream(@Param('id', ParseIntPipe) id: number): Observable<Item> {
    return of(this.item(id));
  }
}

let redis: RedisServer;
let started: CacheApp;

beforeAll(async () => {
  redis = await RedisServer.start();
  started = await startCacheApp(redis, {
    fixture: { controllers: [CacheableAboveController, CacheableBelowController] },
  });
});

afterAll(async () => {
  await started.app.close();
  await redis.stop();
});

describe.each([
  ['above', CacheableAboveController],
  ['below', CacheableBelowController],
])('@Cacheable %s @Get on a controller route (HTTP, real Redis)', (prefix, Controller) => {
  const server = () => started.app.getHttpServer() as Parameters<typeof request>[0];
  const controller = () => started.get(Controller);

  it('answers the second GET from the cache without running the handler', async () => {
    const runs = controller().runs;
    const first = await request(server())
      .get(`/${prefix}/1?q=red`)
      .set('x-api-key', 'secret')
      .expect(200);
    const second = await request(server())
      .get(`/${prefix}/1?q=red`)
      .set('x-api-key', 'secret')
      .expect(200);
    expect(first.body).toEqual({ id: 1, idType: 'number', q: 'red', intercepted: true });
    expect(second.body).toEqual(first.body);
    expect(controller().runs).toBe(runs + 1);
    await request(server()).get(`/${prefix}/1?q=blue`).set('x-api-key', 'secret').expect(200);
    expect(controller().runs).toBe(runs + 2);
  });

  it('still applies the interceptor on hits, and the pipe before the key is built', async () => {
    const runs = controller().runs;
    await request(server()).get(`/${prefix}/4?q=green`).set('x-api-key', 'secret').expect(200);
    const hit = await request(server())
      .get(`/${prefix}/4?q=green`)
      .set('x-api-key', 'secret')
      .expect(200);
    expect(controller().runs).toBe(runs + 1);
    expect(hit.headers['x-stamp']).toBe('stamped');
    expect(hit.body).toMatchObject({ intercepted: true });
    await started.cache.flush();
    // ParseIntPipe turned '4' into the number 4, which is what the key template saw.
    expect(await redis.cli('EXISTS', `decorators:${prefix}:4:green`)).toBe('1');
  });

  it('evicts from a @Put route with @Body, the body still reaching the handler', async () => {
    const runs = controller().runs;
    await request(server()).get(`/${prefix}/3?q=x`).set('x-api-key', 'secret').expect(200);
    const put = await request(server())
      .put(`/${prefix}/3`)
      .set('x-api-key', 'secret')
      .send({ q: 'x' })
      .expect(200);
    expect(put.body).toEqual({ renamed: 3, q: 'x' });
    await request(server()).get(`/${prefix}/3?q=x`).set('x-api-key', 'secret').expect(200);
    expect(controller().runs).toBe(runs + 2);
  });

  it('still applies the guard: a request without the key is refused and never reaches the handler', async () => {
    const runs = controller().runs;
    await request(server()).get(`/${prefix}/2`).expect(403);
    await request(server()).get(`/${prefix}/1?q=red`).expect(403);
    expect(controller().runs).toBe(runs);
  });

  it('still applies the pipe: a bad parameter is a 400 and never reaches the handler', async () => {
    const runs = controller().runs;
    await request(server()).get(`/${prefix}/abc`).set('x-api-key', 'secret').expect(400);
    expect(controller().runs).toBe(runs);
  });
});

describe('@Cacheable on an Observable controller route (HTTP, real Redis)', () => {
  it('answers from the cache the second time', async () => {
    const controller = started.get(CacheableBelowController);
    const runs = controller.runs;
    const server = started.app.getHttpServer() as Parameters<typeof request>[0];
    const first = await request(server)
      .get('/below/stream/5')
      .set('x-api-key', 'secret')
      .expect(200);
    const second = await request(server)
      .get('/below/stream/5')
      .set('x-api-key', 'secret')
      .expect(200);
    expect(first.body).toEqual({ id: 5, idType: 'number' });
    expect(second.body).toEqual(first.body);
    expect(controller.runs).toBe(runs + 1);
  });
});
