#!/usr/bin/env node
// The installed `portico` command; needs `npm run build` first (npm run cli does it).
import '../dist/src/cli/main.js';
