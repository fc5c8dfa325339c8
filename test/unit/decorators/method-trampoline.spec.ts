import 'reflect-metadata';
import { Controller, Get, Param, ParseIntPipe, UseGuards, UsePipes } from '@nestjs/common';
import { firstValueFrom, of, type Observable } from 'rxjs';
import { Cacheable, CacheDecoratorError, CacheEvict, CachePut } from '../../../lib/index.js';
import {
  CACHED_METHOD_METADATA,
  type CachedMethodHandle,
} from '../../../lib/decorators/cached-method.handle.js';
import { RecordingLogger } from '../../e2e/decorators/support/recording-logger.js';

class AllowAll {
  canActivate(): boolean {
    return true;
  }
}

/** Everything Reflect knows about a function: own metadata keys and values. */
function metadataOf(fn: object): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of Reflect.getOwnMetadataKeys(fn)) {
    if (key === CACHED_METHOD_METADATA) continue;
    out[String(key)] = Reflect.getOwnMetadata(key, fn);
  }
  return out;
}

@Controller('items')
class PlainController {
  @UseGuards(AllowAll)
  @UsePipes(ParseIntPipe)
  @Get(':id')
  findOne(@Param('id') id: string, _extra?: number): Promise<string> {
    return Promise.resolve(id);
  }
}

@Controller('items')
class CacheableAboveGet {
  @Cacheable({ key: 'item:{0}' })
  @UseGuards(AllowAll)
  @UsePipes(ParseIntPipe)
  @Get(':id')
  findOne(@Param('id') id: string, _extra?: number): Promise<string> {
    return Promise.resolve(id);
  }
}

@Controller('items')
class CacheableBelowGet {
  @UseGuards(AllowAll)
  @UsePipes(ParseIntPipe)
  @Get(':id')
  @Cacheable({ key: 'item:{0}' })
  findOne(@Param('id') id: string, _extra?: number): Promise<string> {
    return Promise.resolve(id);
  }
}

describe('addCacheOperation() (the trampoline)', () => {
  let logger: RecordingLogger;
  beforeEach(() => {
    logger = RecordingLogger.install();
  });
  afterEach(() => RecordingLogger.restore());

  it.each([
    ['above', CacheableAboveGet],
    ['below', CacheableBelowGet],
  ])(
    'keeps name, length and every Nest metadata entry with @Cacheable %s @Get',
    (_order, Class) => {
      const plain = PlainController.prototype.findOne;
      const decorated = Class.prototype.findOne;
      expect(decorated).not.toBe(plain);
      expect(decorated.name).toBe('findOne');
      expect(decorated.length).toBe(plain.length);
      expect(metadataOf(decorated)).toEqual(metadataOf(plain));
      expect(Object.keys(metadataOf(decorated)).length).toBeGreaterThanOrEqual(3);
      // Route arguments and design types live on the class and prototype: untouched.
      expect(Reflect.getMetadata('design:paramtypes', Class.prototype, 'findOne')).toEqual([
        String,
        Number,
      ]);
      expect(Reflect.getMetadata('design:returntype', Class.prototype, 'findOne')).toBe(Promise);
    },
  );

  it('records the operations of stacked decorators on one trampoline', () => {
    class Service {
      @CacheEvict({ key: 'list' })
      @CachePut({ key: 'item:{0}' })
      save(id: string): Promise<string> {
        return Promise.resolve(id);
      }
    }
    const handle = Reflect.getOwnMetadata(
      CACHED_METHOD_METADATA,
      Service.prototype.save,
    ) as CachedMethodHandle;
    expect(handle.operations.map((operation) => operation.decorator)).toEqual([
      'CachePut',
      'CacheEvict',
    ]);
    expect(handle.className).toBe('Service');
    expect(handle.methodName).toBe('save');
  });

  it('runs the original on an unbound instance and says so once at debug level', async () => {
    let runs = 0;
    class Service {
      constructor(private readonly prefix: string) {}
      @Cacheable()
      read(id: string): Promise<string> {
        runs++;
        return Promise.resolve(`${this.prefix}${id}`);
      }
      @Cacheable()
      stream(): Observable<number> {
        runs++;
        return of(1, 2);
      }
    }
    const service = new Service('p-');
    expect(await service.read('1')).toBe('p-1');
    expect(await service.read('1')).toBe('p-1');
    expect(await firstValueFrom(service.stream())).toBe(1);
    expect(runs).toBe(3);
    const lines = logger.find(
      'debug',
      /Service\.read was called on an instance that no application bound/,
    );
    expect(lines).toHaveLength(1);
    expect(lines[0]?.context).toBe('DistributedCache');
  });

  it('throws CacheDecoratorError at class definition for a static method', () => {
    expect(() => {
      class Service {
        @Cacheable()
        static read(): Promise<number> {
          return Promise.resolve(1);
        }
      }
      return Service;
    }).toThrow(CacheDecoratorError);
  });

  it('throws CacheDecoratorError naming class and method for an accessor', () => {
    expect(() => {
      class Service {
        // @ts-expect-error -- an accessor is not a method
        @Cacheable()
        get value(): Promise<number> {
          return Promise.resolve(1);
        }
      }
      return Service;
    }).toThrow(/@Cacheable on Service\.value: cache decorators apply to methods/);
  });
});
