#!/usr/bin/env bash
# Replays the hostile inputs of the hardening issue against the built CLI and prints, for each, the
# command, what it printed and its exit status. Run from the repository after `npm run build`:
#   bash scripts/findings.sh
set -u
cd "$(dirname "$0")/.."
G="node dist/src/cli/main.js"
T=$(mktemp -d /tmp/gradleak-findings-XXXXXX)
trap 'rm -rf "$T"' EXIT
S=samples/hills.png
F=test/fixtures/reference/cnn2_c2-chelsea

show() {
  local shown="$*"
  echo "\$ gradleak ${shown//$T/\$T}"
  local t0=$(date +%s.%N)
  timeout 120 $G "$@" >"$T/out.txt" 2>"$T/err.txt"
  local rc=$?
  local secs=$(echo "$(date +%s.%N) - $t0" | bc)
  sed "s|$T|\$T|g" "$T/err.txt" | head -3 | sed 's/^/  /'
  echo "  → exit $rc ($(printf '%.2f' "$secs") s)"
}

# hostile inputs, made with Node so the script needs nothing else
node --input-type=module - "$T" <<'JS'
import fs from 'node:fs';
import zlib from 'node:zlib';
import { parseSafetensors, serializeSafetensors } from './dist/src/formats/safetensors.js';
const T = process.argv[2];
const spec = (name, input, layers) => fs.writeFileSync(`${T}/${name}.json`, JSON.stringify({ name, input, layers }));
const conv = { type: 'conv', out: 6, kernel: 3, activation: 'tanh' };
spec('big1024', [3, 1024, 1024], [conv, { type: 'linear', out: 10 }]);
spec('wide', [3, 32, 32], [{ type: 'linear', out: 1e6 }]);
spec('pad', [3, 32, 32], [{ ...conv, padding: 1e9 }, { type: 'linear', out: 10 }]);
spec('huge', [3, 1e20, 32], [{ type: 'linear', out: 10 }]);
spec('slope', [3, 32, 32], [{ ...conv, activation: 'leaky_relu', slope: 1e308 }, { type: 'linear', out: 10 }]);
spec('convlast', [3, 32, 32], [{ type: 'conv', out: 4, kernel: 5, stride: 3, bias: false, activation: 'tanh' }, { type: 'conv', out: 5, kernel: 8, activation: 'identity' }]);
spec('twoclass', [3, 32, 32], [{ ...conv, bias: false }, { type: 'linear', out: 2, bias: false }]);
// a 32×32 PNG whose data inflates to 1 GB
const crc = (b) => { let c = ~0; for (const x of b) { c ^= x; for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1)); } return ~c >>> 0; };
const chunk = (type, data) => { const h = Buffer.alloc(8); h.writeUInt32BE(data.length); h.write(type, 4, 'latin1'); const c = Buffer.alloc(4); c.writeUInt32BE(crc(Buffer.concat([h.subarray(4), data]))); return Buffer.concat([h, data, c]); };
const ihdr = Buffer.alloc(13); ihdr.writeUInt32BE(32, 0); ihdr.writeUInt32BE(32, 4); ihdr.set([8, 2, 0, 0, 0], 8);
const idat = zlib.deflateSync(Buffer.alloc(2 ** 30), { level: 9 });
fs.writeFileSync(`${T}/bomb.png`, Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 13, 10, 26, 10]), chunk('IHDR', ihdr), chunk('IDAT', idat), chunk('IEND', Buffer.alloc(0))]));
// safetensors with two names on the same bytes, and with a repeated name
const raw = (header, data) => { const t = Buffer.from(JSON.stringify(header)); const b = Buffer.alloc(8); b.writeBigUInt64LE(BigInt(t.length)); return Buffer.concat([b, t, data]); };
const g = parseSafetensors(new Uint8Array(fs.readFileSync('test/fixtures/reference/cnn2_c2-chelsea/gradients.safetensors')));
const w0 = g.get('layers.0.weight'), b1 = g.get('layers.1.bias'), w1 = g.get('layers.1.weight');
const n0 = w0.data.length * 8, n1 = w1.data.length * 8;
const data = Buffer.from(serializeSafetensors([['layers.0.weight', w0], ['layers.1.weight', w1], ['layers.1.bias', b1]])).subarray(-(n0 + n1 + 80));
fs.writeFileSync(`${T}/aliased.safetensors`, raw({
  'layers.0.weight': { dtype: 'F64', shape: w0.shape, data_offsets: [0, n0] },
  'layers.1.weight': { dtype: 'F64', shape: w1.shape, data_offsets: [n0, n0 + n1] },
  'layers.1.bias': { dtype: 'F64', shape: b1.shape, data_offsets: [n0 + n1, n0 + n1 + 80] },
  'extra': { dtype: 'F64', shape: w0.shape, data_offsets: [0, n0] },
}, data));
const text = JSON.stringify({ 'layers.0.weight': { dtype: 'F64', shape: w0.shape, data_offsets: [0, n0] }, 'layers.1.weight': { dtype: 'F64', shape: w1.shape, data_offsets: [n0, n0 + n1] }, 'layers.1.bias': { dtype: 'F64', shape: b1.shape, data_offsets: [n0 + n1, n0 + n1 + 80] } });
const dup = text.replace('}}', '},"layers.1.bias":{"dtype":"F64","shape":[10],"data_offsets":[0,80]}}');
const len = Buffer.alloc(8); len.writeBigUInt64LE(BigInt(Buffer.byteLength(dup)));
fs.writeFileSync(`${T}/duplicate.safetensors`, Buffer.concat([len, Buffer.from(dup), data]));
const w = parseSafetensors(new Uint8Array(fs.readFileSync('test/fixtures/reference/cnn2_c2-chelsea/weights.safetensors')));
w.get('layers.0.weight').data[5] = -1e37;
fs.writeFileSync(`${T}/huge-weight.safetensors`, serializeSafetensors([...w.entries()]));
JS

echo "## Memory ceiling and bounded specs"
show audit --model "$T/big1024.json"
show audit --model "$T/wide.json"
show audit --model "$T/pad.json"
show audit --model "$T/huge.json"
show audit --model "$T/slope.json"
echo
echo "## Bounded reads and decoders"
show attack --model cnn2_c1 --image $S --target /dev/zero --out "$T/o"
show attack --model /dev/zero --image $S --out "$T/o"
show attack --model cnn2_c1 --gradients /dev/zero --out "$T/o"
echo "(bomb.png: $(stat -c %s "$T/bomb.png") bytes, 32×32, data inflating to 1 GiB)"
show attack --model cnn2_c1 --image "$T/bomb.png" --out "$T/o"
echo
echo "## Strict safetensors"
show attack --model $F/model.json --weights $F/weights.safetensors --gradients "$T/aliased.safetensors" --out "$T/o"
show attack --model $F/model.json --weights $F/weights.safetensors --gradients "$T/duplicate.safetensors" --out "$T/o"
show attack --model $F/model.json --weights "$T/huge-weight.safetensors" --gradients $F/gradients.safetensors --out "$T/o"
echo
echo "## Strict options"
show demo --weights /nonexistent
show study --model x
show attack --model cnn2_c1 --image $S --label '' --out "$T/o"
show attack --model cnn2_c1 --image $S --tol 0x10 --out "$T/o"
show study --workers 0
show attack --model cnn2_c1 --image $S --lr 0 --out "$T/o"
show study --iterations 0
show study --models cnn2_c1 --count 1 --methods rgap,rgap --out "$T/study"
show attack --model cnn2_c1 --image $S --out /proc/x
echo
echo "## Faults"
dead=$(node -e 'process.stdout.write(String(process.pid))')
mkdir -p "$T/killed" && echo half > "$T/killed/result.json.tmp-$dead"
echo "(planted result.json.tmp-$dead, as a kill -9 during a write leaves it)"
show attack --model cnn2_c1 --image $S --out "$T/killed"
echo "  left in the folder: $(ls "$T/killed" | tr '\n' ' ')"
head -c 300 "$T/study/results.jsonl" > "$T/torn" && mv "$T/torn" "$T/study/results.jsonl"
echo "(cut the study's journal to its first 300 bytes, a torn last line)"
show study --models cnn2_c1 --count 1 --methods rgap --out "$T/study"
echo
echo "## Labels"
show attack --method ig --iterations 5 --model "$T/convlast.json" --image $S --out "$T/l1"
show attack --method ig --iterations 5 --model "$T/twoclass.json" --image $S --out "$T/l2"
grep -h '"labelAmbiguous"' "$T/l1/result.json" "$T/l2/result.json" | sed 's/^/  result.json: /'
echo
echo "## Module-level mutable state in src/ (top-level let, or a binding to a new Map/Set/WeakMap/[]/{})"
grep -rnE '^(export )?(let |var |const \w+(: [^=]+)? = (new (Map|Set|WeakMap|WeakSet|Array)\b|\[\]|\{\}))' src || echo "  none"
