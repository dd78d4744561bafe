#!/usr/bin/env node
'use strict';
// Entry point of `npx genius-native`: the CLI is TypeScript, compiled to dist/ by `npm install`.
require('../dist/bin/cli.js').main(process.argv.slice(2));
