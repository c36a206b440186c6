;; Float64 products of bound propagation as WebAssembly SIMD (two lanes of f64). Compiled by
;; `npm run build:certify-kernels` into kernels-binary.ts; a test checks that the two agree.
;;
;; Each instance owns its memory (one per bounded layer, see heap.ts). Pointers are byte offsets
;; into it. Every lane sums its terms in the order the portable JavaScript route does, with a
;; separate multiply and add (no fused multiply-add), so both routes round alike.
(module
  (memory (export "memory") 1)

;; out[c·8 … c·8 + 7] += Σ_t coef[t] · m[at[t] + c·64 …] for c < chunks: a sum of listed rows
  ;; of a matrix whose rows are `chunks` groups of eight f64 (zero-padded). A dense layer's
  ;; products with the few inputs of a digit that differ from its background, and the transposed
  ;; product of a backward row with the units it reaches. `at`: i32 byte offsets of the rows.
  ;; One chunk per pass over the terms: with two (eight accumulators) V8 ran it a third slower.
  (func (export "rows")
    (param $m i32) (param $at i32) (param $coef i32) (param $count i32)
    (param $out i32) (param $chunks i32)
    (local $c i32) (local $t i32) (local $p i32) (local $o i32)
    (local $v v128) (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128)
    (block $chunksDone (loop $chunk
      (br_if $chunksDone (i32.ge_u (local.get $c) (local.get $chunks)))
      (local.set $o (i32.add (local.get $out) (i32.shl (local.get $c) (i32.const 6))))
      (local.set $a0 (v128.load offset=0 (local.get $o)))
      (local.set $a1 (v128.load offset=16 (local.get $o)))
      (local.set $a2 (v128.load offset=32 (local.get $o)))
      (local.set $a3 (v128.load offset=48 (local.get $o)))
      (local.set $t (i32.const 0))
      (block $termsDone (loop $term
        (br_if $termsDone (i32.ge_u (local.get $t) (local.get $count)))
        (local.set $v (f64x2.splat (f64.load (i32.add (local.get $coef) (i32.shl (local.get $t) (i32.const 3))))))
        (local.set $p
          (i32.add
            (i32.add (local.get $m) (i32.load (i32.add (local.get $at) (i32.shl (local.get $t) (i32.const 2)))))
            (i32.shl (local.get $c) (i32.const 6))))
        (local.set $a0 (f64x2.add (local.get $a0) (f64x2.mul (local.get $v) (v128.load offset=0 (local.get $p)))))
        (local.set $a1 (f64x2.add (local.get $a1) (f64x2.mul (local.get $v) (v128.load offset=16 (local.get $p)))))
        (local.set $a2 (f64x2.add (local.get $a2) (f64x2.mul (local.get $v) (v128.load offset=32 (local.get $p)))))
        (local.set $a3 (f64x2.add (local.get $a3) (f64x2.mul (local.get $v) (v128.load offset=48 (local.get $p)))))
        (local.set $t (i32.add (local.get $t) (i32.const 1)))
        (br $term)))
      (v128.store offset=0 (local.get $o) (local.get $a0))
      (v128.store offset=16 (local.get $o) (local.get $a1))
      (v128.store offset=32 (local.get $o) (local.get $a2))
      (v128.store offset=48 (local.get $o) (local.get $a3))
      (local.set $c (i32.add (local.get $c) (i32.const 1)))
      (br $chunk))))

;; The minimum of a·x over a box, and what the ball around its centre needs, for a = Σ_t coef[t] ·
  ;; m[at[t] …] (as `rows` forms it, `chunks` groups of eight entries, never stored): with the
  ;; box's centre `mid` and half-width `rad`, and the ball's centre `centre` (each chunks·8 f64,
  ;; zero-padded), writes Σ a·mid − |a|·rad, Σ a·centre and Σ a² to out[0], out[1], out[2].
  ;; A backward row's last step through the dense layer that reads the input, and its minimum.
  (func (export "rowsMinimum")
    (param $m i32) (param $at i32) (param $coef i32) (param $count i32) (param $chunks i32)
    (param $mid i32) (param $rad i32) (param $centre i32) (param $out i32)
    (local $c i32) (local $t i32) (local $p i32) (local $o i32)
    (local $v v128) (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128)
    (local $box v128) (local $dot v128) (local $norm v128)
    (block $chunksDone (loop $chunk
      (br_if $chunksDone (i32.ge_u (local.get $c) (local.get $chunks)))
      (local.set $a0 (v128.const f64x2 0 0))
      (local.set $a1 (v128.const f64x2 0 0))
      (local.set $a2 (v128.const f64x2 0 0))
      (local.set $a3 (v128.const f64x2 0 0))
      (local.set $o (i32.shl (local.get $c) (i32.const 6)))
      (local.set $t (i32.const 0))
      (block $termsDone (loop $term
        (br_if $termsDone (i32.ge_u (local.get $t) (local.get $count)))
        (local.set $v (f64x2.splat (f64.load (i32.add (local.get $coef) (i32.shl (local.get $t) (i32.const 3))))))
        (local.set $p
          (i32.add
            (i32.add (local.get $m) (i32.load (i32.add (local.get $at) (i32.shl (local.get $t) (i32.const 2)))))
            (local.get $o)))
        (local.set $a0 (f64x2.add (local.get $a0) (f64x2.mul (local.get $v) (v128.load offset=0 (local.get $p)))))
        (local.set $a1 (f64x2.add (local.get $a1) (f64x2.mul (local.get $v) (v128.load offset=16 (local.get $p)))))
        (local.set $a2 (f64x2.add (local.get $a2) (f64x2.mul (local.get $v) (v128.load offset=32 (local.get $p)))))
        (local.set $a3 (f64x2.add (local.get $a3) (f64x2.mul (local.get $v) (v128.load offset=48 (local.get $p)))))
        (local.set $t (i32.add (local.get $t) (i32.const 1)))
        (br $term)))
      ;; box += a·mid − |a|·rad; dot += a·centre; norm += a·a, two entries per lane pair.
      (local.set $p (i32.add (local.get $mid) (local.get $o)))
      (local.set $box (f64x2.add (local.get $box) (f64x2.mul (local.get $a0) (v128.load offset=0 (local.get $p)))))
      (local.set $box (f64x2.add (local.get $box) (f64x2.mul (local.get $a1) (v128.load offset=16 (local.get $p)))))
      (local.set $box (f64x2.add (local.get $box) (f64x2.mul (local.get $a2) (v128.load offset=32 (local.get $p)))))
      (local.set $box (f64x2.add (local.get $box) (f64x2.mul (local.get $a3) (v128.load offset=48 (local.get $p)))))
      (local.set $p (i32.add (local.get $rad) (local.get $o)))
      (local.set $box (f64x2.sub (local.get $box) (f64x2.mul (f64x2.abs (local.get $a0)) (v128.load offset=0 (local.get $p)))))
      (local.set $box (f64x2.sub (local.get $box) (f64x2.mul (f64x2.abs (local.get $a1)) (v128.load offset=16 (local.get $p)))))
      (local.set $box (f64x2.sub (local.get $box) (f64x2.mul (f64x2.abs (local.get $a2)) (v128.load offset=32 (local.get $p)))))
      (local.set $box (f64x2.sub (local.get $box) (f64x2.mul (f64x2.abs (local.get $a3)) (v128.load offset=48 (local.get $p)))))
      (local.set $p (i32.add (local.get $centre) (local.get $o)))
      (local.set $dot (f64x2.add (local.get $dot) (f64x2.mul (local.get $a0) (v128.load offset=0 (local.get $p)))))
      (local.set $dot (f64x2.add (local.get $dot) (f64x2.mul (local.get $a1) (v128.load offset=16 (local.get $p)))))
      (local.set $dot (f64x2.add (local.get $dot) (f64x2.mul (local.get $a2) (v128.load offset=32 (local.get $p)))))
      (local.set $dot (f64x2.add (local.get $dot) (f64x2.mul (local.get $a3) (v128.load offset=48 (local.get $p)))))
      (local.set $norm (f64x2.add (local.get $norm) (f64x2.mul (local.get $a0) (local.get $a0))))
      (local.set $norm (f64x2.add (local.get $norm) (f64x2.mul (local.get $a1) (local.get $a1))))
      (local.set $norm (f64x2.add (local.get $norm) (f64x2.mul (local.get $a2) (local.get $a2))))
      (local.set $norm (f64x2.add (local.get $norm) (f64x2.mul (local.get $a3) (local.get $a3))))
      (local.set $c (i32.add (local.get $c) (i32.const 1)))
      (br $chunk)))
    (f64.store offset=0 (local.get $out)
      (f64.add (f64x2.extract_lane 0 (local.get $box)) (f64x2.extract_lane 1 (local.get $box))))
    (f64.store offset=8 (local.get $out)
      (f64.add (f64x2.extract_lane 0 (local.get $dot)) (f64x2.extract_lane 1 (local.get $dot))))
    (f64.store offset=16 (local.get $out)
      (f64.add (f64x2.extract_lane 0 (local.get $norm)) (f64x2.extract_lane 1 (local.get $norm)))))

  ;; Interval bounds of one output pixel of a convolution from a box of its input: the patch's
  ;; centres (l + u)/2 and radii (u − l)/2 are gathered into `tmp` (zeros where the window hangs
  ;; over the padding), then per output channel c = K·centre + b and r = |K|·radius, and c − r,
  ;; c + r are written to outLo, outHi (chunks·8 f64 each).
  ;;
  ;; lb, ub: the sample's input box. ip: the pixel's `patch` i32 byte offsets into it (−1:
  ;; padding). kernel, absKernel: [patch][chunks·8] f64 (channels zero-padded to whole chunks).
  ;; bias: [chunks·8]. tmp: 3·patch f64.
  ;;
  ;; With a ball (centre ≥ 0: the sample's L2 ball centre, laid out as its input; eps its radius;
  ;; norms: the pixel's ‖row‖₂ per channel, chunks·8 f64) each output is also bounded over the
  ;; ball, K·centre + b ∓ eps·‖row‖₂, and the tighter of the two bounds kept on each side.
  (func $pixel
    (param $lb i32) (param $ub i32) (param $ip i32) (param $patch i32)
    (param $kernel i32) (param $absKernel i32) (param $chunks i32) (param $bias i32)
    (param $tmp i32) (param $outLo i32) (param $outHi i32)
    (param $centre i32) (param $eps f64) (param $norms i32)
    (local $tc i32) (local $ve v128) (local $w v128)
    (local $j i32) (local $c i32) (local $i i32) (local $tr i32) (local $row i32)
    (local $kp i32) (local $ap i32) (local $bp i32)
    (local $l f64) (local $u f64)
    (local $vm v128) (local $vr v128)
    (local $m0 v128) (local $m1 v128) (local $m2 v128) (local $m3 v128)
    (local $r0 v128) (local $r1 v128) (local $r2 v128) (local $r3 v128)
    (local.set $tr (i32.add (local.get $tmp) (i32.shl (local.get $patch) (i32.const 3))))
    (local.set $tc (i32.add (local.get $tr) (i32.shl (local.get $patch) (i32.const 3))))
    (local.set $row (i32.shl (local.get $chunks) (i32.const 6)))
    (local.set $ve (f64x2.splat (local.get $eps)))
    ;; The ball's centre patch.
    (if (i32.ge_s (local.get $centre) (i32.const 0))
      (then
        (block $centred (loop $gatherCentre
          (br_if $centred (i32.ge_u (local.get $j) (local.get $patch)))
          (local.set $i (i32.load (i32.add (local.get $ip) (i32.shl (local.get $j) (i32.const 2)))))
          (f64.store (i32.add (local.get $tc) (i32.shl (local.get $j) (i32.const 3)))
            (if (result f64) (i32.lt_s (local.get $i) (i32.const 0))
              (then (f64.const 0))
              (else (f64.load (i32.add (local.get $centre) (local.get $i))))))
          (local.set $j (i32.add (local.get $j) (i32.const 1)))
          (br $gatherCentre)))
        (local.set $j (i32.const 0))))
    ;; Gather the patch.
    (block $gathered (loop $gather
      (br_if $gathered (i32.ge_u (local.get $j) (local.get $patch)))
      (local.set $i (i32.load (local.get $ip)))
      (if (i32.lt_s (local.get $i) (i32.const 0))
        (then
          (f64.store (i32.add (local.get $tmp) (i32.shl (local.get $j) (i32.const 3))) (f64.const 0))
          (f64.store (i32.add (local.get $tr) (i32.shl (local.get $j) (i32.const 3))) (f64.const 0)))
        (else
          (local.set $l (f64.load (i32.add (local.get $lb) (local.get $i))))
          (local.set $u (f64.load (i32.add (local.get $ub) (local.get $i))))
          (f64.store (i32.add (local.get $tmp) (i32.shl (local.get $j) (i32.const 3)))
            (f64.div (f64.add (local.get $l) (local.get $u)) (f64.const 2)))
          (f64.store (i32.add (local.get $tr) (i32.shl (local.get $j) (i32.const 3)))
            (f64.div (f64.sub (local.get $u) (local.get $l)) (f64.const 2)))))
      (local.set $ip (i32.add (local.get $ip) (i32.const 4)))
      (local.set $j (i32.add (local.get $j) (i32.const 1)))
      (br $gather)))
    ;; Every chunk of eight output channels.
    (block $channelsDone (loop $channel
      (br_if $channelsDone (i32.ge_u (local.get $c) (local.get $chunks)))
      (local.set $m0 (v128.const f64x2 0 0))
      (local.set $m1 (v128.const f64x2 0 0))
      (local.set $m2 (v128.const f64x2 0 0))
      (local.set $m3 (v128.const f64x2 0 0))
      (local.set $r0 (v128.const f64x2 0 0))
      (local.set $r1 (v128.const f64x2 0 0))
      (local.set $r2 (v128.const f64x2 0 0))
      (local.set $r3 (v128.const f64x2 0 0))
      (local.set $kp (i32.add (local.get $kernel) (i32.shl (local.get $c) (i32.const 6))))
      (local.set $ap (i32.add (local.get $absKernel) (i32.shl (local.get $c) (i32.const 6))))
      (local.set $j (i32.const 0))
      (block $tapsDone (loop $tap
        (br_if $tapsDone (i32.ge_u (local.get $j) (local.get $patch)))
        (local.set $vm (f64x2.splat (f64.load (i32.add (local.get $tmp) (i32.shl (local.get $j) (i32.const 3))))))
        (local.set $vr (f64x2.splat (f64.load (i32.add (local.get $tr) (i32.shl (local.get $j) (i32.const 3))))))
        (local.set $m0 (f64x2.add (local.get $m0) (f64x2.mul (local.get $vm) (v128.load offset=0 (local.get $kp)))))
        (local.set $m1 (f64x2.add (local.get $m1) (f64x2.mul (local.get $vm) (v128.load offset=16 (local.get $kp)))))
        (local.set $m2 (f64x2.add (local.get $m2) (f64x2.mul (local.get $vm) (v128.load offset=32 (local.get $kp)))))
        (local.set $m3 (f64x2.add (local.get $m3) (f64x2.mul (local.get $vm) (v128.load offset=48 (local.get $kp)))))
        (local.set $r0 (f64x2.add (local.get $r0) (f64x2.mul (local.get $vr) (v128.load offset=0 (local.get $ap)))))
        (local.set $r1 (f64x2.add (local.get $r1) (f64x2.mul (local.get $vr) (v128.load offset=16 (local.get $ap)))))
        (local.set $r2 (f64x2.add (local.get $r2) (f64x2.mul (local.get $vr) (v128.load offset=32 (local.get $ap)))))
        (local.set $r3 (f64x2.add (local.get $r3) (f64x2.mul (local.get $vr) (v128.load offset=48 (local.get $ap)))))
        (local.set $kp (i32.add (local.get $kp) (local.get $row)))
        (local.set $ap (i32.add (local.get $ap) (local.get $row)))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $tap)))
      ;; The centre plus the bias, then centre ∓ radius.
      (local.set $bp (i32.add (local.get $bias) (i32.shl (local.get $c) (i32.const 6))))
      (local.set $m0 (f64x2.add (local.get $m0) (v128.load offset=0 (local.get $bp))))
      (local.set $m1 (f64x2.add (local.get $m1) (v128.load offset=16 (local.get $bp))))
      (local.set $m2 (f64x2.add (local.get $m2) (v128.load offset=32 (local.get $bp))))
      (local.set $m3 (f64x2.add (local.get $m3) (v128.load offset=48 (local.get $bp))))
      (local.set $i (i32.add (local.get $outLo) (i32.shl (local.get $c) (i32.const 6))))
      (v128.store offset=0 (local.get $i) (f64x2.sub (local.get $m0) (local.get $r0)))
      (v128.store offset=16 (local.get $i) (f64x2.sub (local.get $m1) (local.get $r1)))
      (v128.store offset=32 (local.get $i) (f64x2.sub (local.get $m2) (local.get $r2)))
      (v128.store offset=48 (local.get $i) (f64x2.sub (local.get $m3) (local.get $r3)))
      (local.set $i (i32.add (local.get $outHi) (i32.shl (local.get $c) (i32.const 6))))
      (v128.store offset=0 (local.get $i) (f64x2.add (local.get $m0) (local.get $r0)))
      (v128.store offset=16 (local.get $i) (f64x2.add (local.get $m1) (local.get $r1)))
      (v128.store offset=32 (local.get $i) (f64x2.add (local.get $m2) (local.get $r2)))
      (v128.store offset=48 (local.get $i) (f64x2.add (local.get $m3) (local.get $r3)))
      (if (i32.ge_s (local.get $centre) (i32.const 0))
        (then
          ;; m ← K·centre + b, then lo ← max(lo, m − eps·n), hi ← min(hi, m + eps·n).
          (local.set $m0 (v128.const f64x2 0 0))
          (local.set $m1 (v128.const f64x2 0 0))
          (local.set $m2 (v128.const f64x2 0 0))
          (local.set $m3 (v128.const f64x2 0 0))
          (local.set $kp (i32.add (local.get $kernel) (i32.shl (local.get $c) (i32.const 6))))
          (local.set $j (i32.const 0))
          (block $centreDone (loop $centreTap
            (br_if $centreDone (i32.ge_u (local.get $j) (local.get $patch)))
            (local.set $vm (f64x2.splat (f64.load (i32.add (local.get $tc) (i32.shl (local.get $j) (i32.const 3))))))
            (local.set $m0 (f64x2.add (local.get $m0) (f64x2.mul (local.get $vm) (v128.load offset=0 (local.get $kp)))))
            (local.set $m1 (f64x2.add (local.get $m1) (f64x2.mul (local.get $vm) (v128.load offset=16 (local.get $kp)))))
            (local.set $m2 (f64x2.add (local.get $m2) (f64x2.mul (local.get $vm) (v128.load offset=32 (local.get $kp)))))
            (local.set $m3 (f64x2.add (local.get $m3) (f64x2.mul (local.get $vm) (v128.load offset=48 (local.get $kp)))))
            (local.set $kp (i32.add (local.get $kp) (local.get $row)))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br $centreTap)))
          (local.set $m0 (f64x2.add (local.get $m0) (v128.load offset=0 (local.get $bp))))
          (local.set $m1 (f64x2.add (local.get $m1) (v128.load offset=16 (local.get $bp))))
          (local.set $m2 (f64x2.add (local.get $m2) (v128.load offset=32 (local.get $bp))))
          (local.set $m3 (f64x2.add (local.get $m3) (v128.load offset=48 (local.get $bp))))
          (local.set $kp (i32.add (local.get $norms) (i32.shl (local.get $c) (i32.const 6))))
          (local.set $r0 (f64x2.mul (local.get $ve) (v128.load offset=0 (local.get $kp))))
          (local.set $r1 (f64x2.mul (local.get $ve) (v128.load offset=16 (local.get $kp))))
          (local.set $r2 (f64x2.mul (local.get $ve) (v128.load offset=32 (local.get $kp))))
          (local.set $r3 (f64x2.mul (local.get $ve) (v128.load offset=48 (local.get $kp))))
          (local.set $i (i32.add (local.get $outLo) (i32.shl (local.get $c) (i32.const 6))))
          (v128.store offset=0 (local.get $i) (f64x2.max (v128.load offset=0 (local.get $i)) (f64x2.sub (local.get $m0) (local.get $r0))))
          (v128.store offset=16 (local.get $i) (f64x2.max (v128.load offset=16 (local.get $i)) (f64x2.sub (local.get $m1) (local.get $r1))))
          (v128.store offset=32 (local.get $i) (f64x2.max (v128.load offset=32 (local.get $i)) (f64x2.sub (local.get $m2) (local.get $r2))))
          (v128.store offset=48 (local.get $i) (f64x2.max (v128.load offset=48 (local.get $i)) (f64x2.sub (local.get $m3) (local.get $r3))))
          (local.set $i (i32.add (local.get $outHi) (i32.shl (local.get $c) (i32.const 6))))
          (v128.store offset=0 (local.get $i) (f64x2.min (v128.load offset=0 (local.get $i)) (f64x2.add (local.get $m0) (local.get $r0))))
          (v128.store offset=16 (local.get $i) (f64x2.min (v128.load offset=16 (local.get $i)) (f64x2.add (local.get $m1) (local.get $r1))))
          (v128.store offset=32 (local.get $i) (f64x2.min (v128.load offset=32 (local.get $i)) (f64x2.add (local.get $m2) (local.get $r2))))
          (v128.store offset=48 (local.get $i) (f64x2.min (v128.load offset=48 (local.get $i)) (f64x2.add (local.get $m3) (local.get $r3))))))
      (local.set $c (i32.add (local.get $c) (i32.const 1)))
      (br $channel))))

  ;; $pixel for every output pixel of `batch` samples (input boxes inBytes apart), into
  ;; outLower, outUpper: [batch][pixels][chunks·8]. index: [pixels][patch] offsets as $pixel reads
  ;; them. A plain product (upper = lower) gives radius 0 and K·x + b in both outputs.
  (func (export "convInterval")
    (param $lower i32) (param $upper i32) (param $inBytes i32)
    (param $index i32) (param $patch i32) (param $pixels i32) (param $batch i32)
    (param $kernel i32) (param $absKernel i32) (param $chunks i32) (param $bias i32)
    (param $tmp i32) (param $outLower i32) (param $outUpper i32)
    (local $b i32) (local $p i32) (local $o i32) (local $lb i32) (local $ub i32) (local $step i32)
    (local.set $step (i32.shl (local.get $chunks) (i32.const 6)))
    (block $batchDone (loop $sample
      (br_if $batchDone (i32.ge_u (local.get $b) (local.get $batch)))
      (local.set $lb (i32.add (local.get $lower) (i32.mul (local.get $b) (local.get $inBytes))))
      (local.set $ub (i32.add (local.get $upper) (i32.mul (local.get $b) (local.get $inBytes))))
      (local.set $p (i32.const 0))
      (block $pixelsDone (loop $each
        (br_if $pixelsDone (i32.ge_u (local.get $p) (local.get $pixels)))
        (call $pixel (local.get $lb) (local.get $ub)
          (i32.add (local.get $index) (i32.shl (i32.mul (local.get $p) (local.get $patch)) (i32.const 2)))
          (local.get $patch) (local.get $kernel) (local.get $absKernel) (local.get $chunks) (local.get $bias)
          (local.get $tmp) (i32.add (local.get $outLower) (local.get $o)) (i32.add (local.get $outUpper) (local.get $o))
          (i32.const -1) (f64.const 0) (i32.const 0))
        (local.set $o (i32.add (local.get $o) (local.get $step)))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $each)))
      (local.set $b (i32.add (local.get $b) (i32.const 1)))
      (br $sample))))

  ;; IBP through a convolution, a relu and a max pool at once: per pool window (members: the
  ;; convolution's output pixels listed in windows[start[q]] … windows[start[q + 1] − 1]), each
  ;; member's bounds by $pixel into pixLo/pixHi, and the window's output is the largest of them and
  ;; 0 (relu then max: max(0, max z) over the window), for lower and upper bounds alike. Neither
  ;; the convolution's nor the relu's bounds are written anywhere.
  ;; outLower, outUpper: [batch][windows][chunks·8]. centres (−1: none): L2 balls' centres laid
  ;; out as the boxes, eps: their radii (f64 per sample), norms: [pixels][chunks·8], as $pixel
  ;; reads them.
  (func (export "convReluPool")
    (param $lower i32) (param $upper i32) (param $inBytes i32)
    (param $index i32) (param $patch i32) (param $windows i32) (param $start i32) (param $count i32)
    (param $batch i32)
    (param $kernel i32) (param $absKernel i32) (param $chunks i32) (param $bias i32)
    (param $tmp i32) (param $pixLo i32) (param $pixHi i32) (param $outLower i32) (param $outUpper i32)
    (param $centres i32) (param $eps i32) (param $norms i32)
    (local $cb i32) (local $pixel i32) (local $e f64)
    (local $b i32) (local $q i32) (local $k i32) (local $end i32) (local $c i32) (local $o i32)
    (local $lb i32) (local $ub i32) (local $step i32) (local $x i32) (local $y i32)
    (local.set $step (i32.shl (local.get $chunks) (i32.const 6)))
    (block $batchDone (loop $sample
      (br_if $batchDone (i32.ge_u (local.get $b) (local.get $batch)))
      (local.set $lb (i32.add (local.get $lower) (i32.mul (local.get $b) (local.get $inBytes))))
      (local.set $ub (i32.add (local.get $upper) (i32.mul (local.get $b) (local.get $inBytes))))
      (local.set $cb (i32.const -1))
      (if (i32.ge_s (local.get $centres) (i32.const 0))
        (then
          (local.set $cb (i32.add (local.get $centres) (i32.mul (local.get $b) (local.get $inBytes))))
          (local.set $e (f64.load (i32.add (local.get $eps) (i32.shl (local.get $b) (i32.const 3)))))))
      (local.set $q (i32.const 0))
      (block $windowsDone (loop $window
        (br_if $windowsDone (i32.ge_u (local.get $q) (local.get $count)))
        ;; The window's bounds start at 0 (the relu's floor).
        (local.set $c (i32.const 0))
        (block $zeroed (loop $zero
          (br_if $zeroed (i32.ge_u (local.get $c) (local.get $step)))
          (v128.store (i32.add (i32.add (local.get $outLower) (local.get $o)) (local.get $c)) (v128.const f64x2 0 0))
          (v128.store (i32.add (i32.add (local.get $outUpper) (local.get $o)) (local.get $c)) (v128.const f64x2 0 0))
          (local.set $c (i32.add (local.get $c) (i32.const 16)))
          (br $zero)))
        (local.set $k (i32.load (i32.add (local.get $start) (i32.shl (local.get $q) (i32.const 2)))))
        (local.set $end (i32.load (i32.add (local.get $start) (i32.shl (i32.add (local.get $q) (i32.const 1)) (i32.const 2)))))
        (block $membersDone (loop $member
          (br_if $membersDone (i32.ge_u (local.get $k) (local.get $end)))
          (local.set $pixel (i32.load (i32.add (local.get $windows) (i32.shl (local.get $k) (i32.const 2)))))
          (call $pixel (local.get $lb) (local.get $ub)
            (i32.add (local.get $index) (i32.shl (i32.mul (local.get $pixel) (local.get $patch)) (i32.const 2)))
            (local.get $patch) (local.get $kernel) (local.get $absKernel) (local.get $chunks) (local.get $bias)
            (local.get $tmp) (local.get $pixLo) (local.get $pixHi)
            (local.get $cb) (local.get $e) (i32.add (local.get $norms) (i32.mul (local.get $pixel) (local.get $step))))
          (local.set $c (i32.const 0))
          (block $merged (loop $merge
            (br_if $merged (i32.ge_u (local.get $c) (local.get $step)))
            (local.set $x (i32.add (i32.add (local.get $outLower) (local.get $o)) (local.get $c)))
            (local.set $y (i32.add (local.get $pixLo) (local.get $c)))
            (v128.store (local.get $x) (f64x2.max (v128.load (local.get $x)) (v128.load (local.get $y))))
            (local.set $x (i32.add (i32.add (local.get $outUpper) (local.get $o)) (local.get $c)))
            (local.set $y (i32.add (local.get $pixHi) (local.get $c)))
            (v128.store (local.get $x) (f64x2.max (v128.load (local.get $x)) (v128.load (local.get $y))))
            (local.set $c (i32.add (local.get $c) (i32.const 16)))
            (br $merge)))
          (local.set $k (i32.add (local.get $k) (i32.const 1)))
          (br $member)))
        (local.set $o (i32.add (local.get $o) (local.get $step)))
        (local.set $q (i32.add (local.get $q) (i32.const 1)))
        (br $window)))
      (local.set $b (i32.add (local.get $b) (i32.const 1)))
      (br $sample))))
)
