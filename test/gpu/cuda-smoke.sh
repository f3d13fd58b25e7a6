#!/usr/bin/env bash
# The cuda backend on this machine's GPU: builds the native addon if needed, prints `keopsc doctor`,
# then runs test/gpu/cuda.test.ts (the §7.3 conformance cases on backend 'cuda' against the reference
# evaluator, and the Gaussian kernel sum throughput at N = M = 1e5 and 1e6). Without a GPU the tests
# are skipped and the reason is printed. Usage: bash test/gpu/cuda-smoke.sh (from anywhere).
set -euo pipefail
cd "$(dirname "$0")/../.."
[ -f native/build/Release/keopsc_native.node ] || node native/build.mjs
node --import tsx --input-type=module -e "import { main } from './src/cli/main.ts'; await main(['node', 'keopsc', 'doctor']);"
npx mocha --no-config -n import=tsx --extension ts --timeout 600000 test/gpu/cuda.test.ts
