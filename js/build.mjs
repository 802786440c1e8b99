// Bundles every view module js/<view>.js (and its css) into k1widgets/static/<view>.js.
// One command for all entry points, so a new view needs no new script.
import { readdirSync } from "node:fs";
import * as esbuild from "esbuild";

const entryPoints = readdirSync("js")
  .filter((f) => f.endsWith(".js") && !f.endsWith(".test.js"))
  .map((f) => `js/${f}`);

const options = {
  entryPoints,
  bundle: true,
  format: "esm",
  minify: !process.argv.includes("--watch"),
  outdir: "k1widgets/static",
  logLevel: "warning",
};

if (process.argv.includes("--watch")) {
  const ctx = await esbuild.context(options);
  await ctx.watch();
} else {
  await esbuild.build(options);
}
