// `node --import tsx test/helpers/keopsc-cli.ts ARGS...` runs the keopsc CLI from the sources (for tests that spawn it).
import { main } from '../../src/cli/main.js';

process.exitCode = await main(process.argv);
