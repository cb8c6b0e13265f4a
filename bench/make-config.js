#!/usr/bin/env node
/**
 * Prints a tidegate config that routes bench.example.com to a static backend:
 *   node bench/make-config.js BACKEND_PORT > /tmp/tg.yaml
 * (used to point ../shared/anchors at tidegate; see docs/benchmarks.md).
 */
import { tidegateStaticConfig } from './lib/configs.js';

const port = Number(process.argv[2]);
if (!Number.isInteger(port) || port < 1 || port > 65535) {
  process.stderr.write('usage: node bench/make-config.js BACKEND_PORT > tidegate.yaml\n');
  process.exit(2);
}
process.stdout.write(tidegateStaticConfig([`127.0.0.1:${port}`]));
