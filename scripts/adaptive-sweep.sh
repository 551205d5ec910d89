#!/bin/sh
# Naive vs adaptive PSNR under one defence's strengths (docs/DESIGN.md, "adaptive attacks").
# usage: scripts/adaptive-sweep.sh OUT MODEL IMAGE LABEL "METHODS" "DEFENCE-SPECS" [extra attack options]
# e.g.   scripts/adaptive-sweep.sh /tmp/prune lenet_zhu samples/hills.png 3 "dlg ig" "prune:0.2 prune:0.5"
# prints: method defence mode psnr ssim seconds (tab-separated), one line per run
set -e
out=$1; model=$2; image=$3; label=$4; methods=$5; specs=$6; shift 6
for m in $methods; do
  for d in $specs; do
    for mode in naive adaptive; do
      flag=""; [ "$mode" = adaptive ] && flag=--adaptive
      dir="$out/$m-$(echo "$d" | tr ':,=' '___')-$mode"
      node dist/src/cli/main.js attack --method "$m" --model "$model" --image "$image" --label "$label" \
        --defence "$d" $flag --json --out "$dir" "$@" 2>/dev/null \
        | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const r=JSON.parse(s);
            console.log([process.argv[1],process.argv[2],process.argv[3],r.psnr.toFixed(2),r.ssim.toFixed(3),
            r.seconds.toFixed(1)].join("\t"))})' "$m" "$d" "$mode"
    done
  done
done
