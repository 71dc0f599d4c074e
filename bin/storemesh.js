#!/usr/bin/env node
// the whole CLI in one module (scripts/bundle.mjs): it starts in well under half the time
import '../dist/storemesh.mjs'
