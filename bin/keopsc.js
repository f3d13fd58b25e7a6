#!/usr/bin/env node
// Kept for set-ups that name this file (an editor's keopsc.path): the command line is ./keopsc.cjs.
import './keopsc.cjs';
