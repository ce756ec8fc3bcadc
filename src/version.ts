// The m3w version from package.json, and the git commit the bundle was built from (set by build/bundle.ts).
import pkg from '../package.json' with { type: 'json' };

declare const __M3W_COMMIT__: string | undefined;

export const VERSION: string = pkg.version;
export const COMMIT: string = typeof __M3W_COMMIT__ === 'string' ? __M3W_COMMIT__ : 'source';
