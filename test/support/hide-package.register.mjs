import { register } from 'node:module';

register('./hide-package.hooks.mjs', import.meta.url);
