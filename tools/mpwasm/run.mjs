// Run a Python script on the official MicroPython webassembly build.
//
//   node tools/mpwasm/run.mjs [--dir HOSTDIR[:VMDIR]]... [--path VMDIR]... SCRIPT.py [ARGS...]
//
// Each --dir copies the .py/.json files of HOSTDIR (recursively) into the VM's
// file system at VMDIR (default /HOSTDIR basename). Each --path is prepended to
// sys.path. The wasm port has no sys.argv: `from _mpargv import ARGV`
// gives [SCRIPT, ARGS...]. Files written by the script under
// /out in the VM are copied back to ./mpwasm-out/ on the host when --export-out
// is given. Exit status 1 when the script raises, else the value it passed to
// sys.exit() (0 by default).
import { loadMicroPython } from "@micropython/micropython-webassembly-pyscript";
import fs from "node:fs";
import path from "node:path";

const args = process.argv.slice(2);
const dirs = [];
const paths = [];
let exportOut = null;
while (args.length && args[0].startsWith("--")) {
  const flag = args.shift();
  if (flag === "--dir") dirs.push(args.shift());
  else if (flag === "--path") paths.push(args.shift());
  else if (flag === "--export-out") exportOut = args.shift();
  else { console.error(`unknown flag ${flag}`); process.exit(2); }
}
if (!args.length) { console.error("usage: run.mjs [--dir H[:V]] [--path V] SCRIPT.py [ARGS]"); process.exit(2); }
const script = args.shift();

const mp = await loadMicroPython({
  stdout: (s) => process.stdout.write(s + "\n"),
  stderr: (s) => process.stderr.write(s + "\n"),
  pystack: 16 * 1024,
  heapsize: 16 * 1024 * 1024,
});

function mkdirp(p) {
  let cur = "";
  for (const part of p.split("/").filter(Boolean)) {
    cur += "/" + part;
    try { mp.FS.mkdir(cur); } catch (e) { /* exists */ }
  }
}
function copyIn(host, vm) {
  mkdirp(vm);
  for (const ent of fs.readdirSync(host, { withFileTypes: true })) {
    const h = path.join(host, ent.name);
    if (ent.isDirectory()) {
      if (ent.name === "__pycache__" || ent.name.startsWith(".")) continue;
      copyIn(h, vm + "/" + ent.name);
    } else if (/\.(py|mpy|json|txt|bin)$/.test(ent.name)) {
      mp.FS.writeFile(vm + "/" + ent.name, fs.readFileSync(h));
    }
  }
}
for (const d of dirs) {
  const [host, vm] = d.includes(":") ? d.split(":") : [d, "/" + path.basename(path.resolve(d))];
  copyIn(host, vm);
}
mkdirp("/out");
mkdirp("/work");
mp.FS.writeFile("/work/__main__.py", fs.readFileSync(script));

// The wasm port has no sys.argv (and its sys module is read-only):
// scripts read the arguments from the module _mpargv instead.
mp.FS.writeFile("/work/_mpargv.py", `ARGV = ${JSON.stringify([script, ...args])}\n`);
const pre = `import sys\nsys.path.insert(0, "/work")\n` +
  paths.map((p) => `sys.path.insert(0, ${JSON.stringify(p)})\n`).join("");
let code = 0;
try {
  mp.runPython(pre);
  mp.runPython(fs.readFileSync(script, "utf8"));
} catch (e) {
  const msg = String(e.message || e);
  const m = msg.match(/SystemExit: (\d+)/);
  if (m) code = Number(m[1]);
  else if (/SystemExit\s*$/.test(msg.trim())) code = 0;
  else { process.stderr.write(msg + "\n"); code = 1; }
}
if (exportOut) {
  fs.mkdirSync(exportOut, { recursive: true });
  for (const name of mp.FS.readdir("/out")) {
    if (name === "." || name === "..") continue;
    fs.writeFileSync(path.join(exportOut, name), mp.FS.readFile("/out/" + name));
  }
}
process.exit(code);
