// The keopsc CLI straight from the sources (tests spawn it as `node --import tsx test/helpers/keopsc-cli.ts ...`).
import { main } from '../../src/cli/main.js';

void main(process.argv);
