#!/usr/bin/env node
/** conda-gitops: the single entry point. */
import { main } from './lib/dispatch.js';

process.exitCode = await main(process.argv.slice(2));
