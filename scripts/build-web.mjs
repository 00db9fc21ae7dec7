#!/usr/bin/env node
// `npm run build:web`: the web console into dist/web (see web/build.ts; Node 22 strips its types).
import { buildWeb } from "../web/build.ts";

await buildWeb();
