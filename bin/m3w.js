#!/usr/bin/env node
// The installed `m3w` command: the compiled bundle (`npm run bundle` writes dist/).
await import('../dist/m3w.js');
