;; Gradient kernels that run on the wasm backend's own heap (the memory is imported from tfjs's
;; module, so tensors are read and written in place). Compiled by `npm run build:kernels` into
;; kernels-binary.ts; a test checks that the two agree.
;;
;; Pointers are byte offsets into that heap; tensors are float32, channels-last.
(module
  (import "env" "memory" (memory 0))

  ;; The input gradient of  Conv2D (stride 1, no dilation, 'valid') → [relu] → MaxPool 2×2/2,
  ;; from the gradient at the pool's output, in one pass.
  ;;
  ;; Each pooled value's gradient goes to the first row-major position of its window holding the
  ;; maximum (as tfjs's cpu MaxPoolGrad does); with `gate`, a window whose maximum is not positive
  ;; passes nothing (the relu is flat there). The routed value g at conv-output pixel (r, s),
  ;; channel c, then adds g·K[k, ·, ·, c] to input row r + k, columns s … s + kw − 1 (all input
  ;; channels): one contiguous span of L = kw·Cin floats per kernel row, scattered as `nv`
  ;; 4-lane vectors. Pooling leaves three of every four conv-output pixels without gradient, so
  ;; this touches a quarter of the values a dense transposed convolution would.
  ;;
  ;; w: [C, kh, nv·4] — row k of channel c holds K[k, ·, ·, c] flattened, zero-padded to nv·4.
  ;; The padding lanes add g·0 to the values just past the span, which changes nothing; a window
  ;; whose vectors would pass `end` (the last rows of the last image) is done lane by lane.
  ;; dx must be zero-filled.
  (func (export "maxPoolConvBackprop")
    (param $x i32) (param $y i32) (param $dy i32) (param $w i32) (param $dx i32) (param $end i32)
    (param $n i32) (param $hp i32) (param $wp i32) (param $c i32)
    (param $hc i32) (param $wc i32) (param $h i32) (param $wd i32) (param $cin i32)
    (param $kh i32) (param $nv i32) (param $span i32) (param $gate i32)
    (local $b i32) (local $i i32) (local $j i32) (local $ch i32) (local $k i32) (local $v i32)
    (local $pixel i32) (local $xRow i32) (local $dxPixel i32) (local $dxRow i32) (local $wChannel i32)
    (local $xWindow i32) (local $dxWindow i32) (local $xq i32) (local $dq i32)
    (local $yp i32) (local $dyp i32) (local $xa i32) (local $a i32) (local $ra i32) (local $wa i32)
    (local $reach i32) (local $safe i32)
    (local $m f32) (local $g f32) (local $gv v128)
    (local.set $pixel (i32.shl (local.get $c) (i32.const 2)))
    (local.set $xRow (i32.mul (local.get $wc) (local.get $pixel)))
    (local.set $dxPixel (i32.shl (local.get $cin) (i32.const 2)))
    (local.set $dxRow (i32.mul (local.get $wd) (local.get $dxPixel)))
    (local.set $wChannel (i32.shl (i32.mul (local.get $kh) (local.get $nv)) (i32.const 4)))
    ;; Bytes from a window's top-left input pixel to the end of its farthest vector.
    (local.set $reach
      (i32.add
        (i32.add (i32.mul (local.get $kh) (local.get $dxRow)) (local.get $dxPixel))
        (i32.shl (local.get $nv) (i32.const 4))))
    (local.set $yp (local.get $y))
    (local.set $dyp (local.get $dy))
    (local.set $b (i32.const 0))
    (block $batchDone (loop $batch
      (br_if $batchDone (i32.ge_u (local.get $b) (local.get $n)))
      (local.set $i (i32.const 0))
      (block $rowsDone (loop $rows
        (br_if $rowsDone (i32.ge_u (local.get $i) (local.get $hp)))
        (local.set $xWindow
          (i32.add (local.get $x)
            (i32.mul
              (i32.add (i32.mul (local.get $b) (local.get $hc)) (i32.shl (local.get $i) (i32.const 1)))
              (local.get $xRow))))
        (local.set $dxWindow
          (i32.add (local.get $dx)
            (i32.mul
              (i32.add (i32.mul (local.get $b) (local.get $h)) (i32.shl (local.get $i) (i32.const 1)))
              (local.get $dxRow))))
        (local.set $j (i32.const 0))
        (block $colsDone (loop $cols
          (br_if $colsDone (i32.ge_u (local.get $j) (local.get $wp)))
          (local.set $xq (i32.add (local.get $xWindow) (i32.mul (i32.shl (local.get $j) (i32.const 1)) (local.get $pixel))))
          (local.set $dq (i32.add (local.get $dxWindow) (i32.mul (i32.shl (local.get $j) (i32.const 1)) (local.get $dxPixel))))
          (local.set $safe (i32.le_u (i32.add (local.get $dq) (local.get $reach)) (local.get $end)))
          (local.set $ch (i32.const 0))
          (block $channelsDone (loop $channels
            (br_if $channelsDone (i32.ge_u (local.get $ch) (local.get $c)))
            (local.set $m (f32.load (local.get $yp)))
            (local.set $g (f32.load (local.get $dyp)))
            (if (local.get $gate)
              (then (local.set $g (select (local.get $g) (f32.const 0) (f32.gt (local.get $m) (f32.const 0))))))
            (if (f32.ne (local.get $g) (f32.const 0))
              (then
                (local.set $xa (i32.add (local.get $xq) (i32.shl (local.get $ch) (i32.const 2))))
                ;; First of (r, s), (r, s + 1), (r + 1, s) equal to the maximum, else (r + 1, s + 1).
                (local.set $a
                  (i32.add (local.get $dq)
                    (select
                      (i32.const 0)
                      (select
                        (local.get $dxPixel)
                        (select
                          (local.get $dxRow)
                          (i32.add (local.get $dxRow) (local.get $dxPixel))
                          (f32.eq (f32.load (i32.add (local.get $xa) (local.get $xRow))) (local.get $m)))
                        (f32.eq (f32.load (i32.add (local.get $xa) (local.get $pixel))) (local.get $m)))
                      (f32.eq (f32.load (local.get $xa)) (local.get $m)))))
                (local.set $wa (i32.add (local.get $w) (i32.mul (local.get $ch) (local.get $wChannel))))
                (if (local.get $safe)
                  (then
                    (local.set $gv (f32x4.splat (local.get $g)))
                    (local.set $k (i32.const 0))
                    (block $kDone (loop $kLoop
                      (br_if $kDone (i32.ge_u (local.get $k) (local.get $kh)))
                      (local.set $ra (i32.add (local.get $a) (i32.mul (local.get $k) (local.get $dxRow))))
                      (local.set $v (i32.const 0))
                      (block $vDone (loop $vLoop
                        (br_if $vDone (i32.ge_u (local.get $v) (local.get $nv)))
                        (v128.store (local.get $ra)
                          (f32x4.add
                            (v128.load (local.get $ra))
                            (f32x4.mul (local.get $gv) (v128.load (local.get $wa)))))
                        (local.set $ra (i32.add (local.get $ra) (i32.const 16)))
                        (local.set $wa (i32.add (local.get $wa) (i32.const 16)))
                        (local.set $v (i32.add (local.get $v) (i32.const 1)))
                        (br $vLoop)))
                      (local.set $k (i32.add (local.get $k) (i32.const 1)))
                      (br $kLoop))))
                  (else
                    (local.set $k (i32.const 0))
                    (block $kDone2 (loop $kLoop2
                      (br_if $kDone2 (i32.ge_u (local.get $k) (local.get $kh)))
                      (local.set $ra (i32.add (local.get $a) (i32.mul (local.get $k) (local.get $dxRow))))
                      (local.set $v (i32.const 0))
                      (block $lDone (loop $lLoop
                        (br_if $lDone (i32.ge_u (local.get $v) (local.get $span)))
                        (f32.store (local.get $ra)
                          (f32.add
                            (f32.load (local.get $ra))
                            (f32.mul (local.get $g) (f32.load (i32.add (local.get $wa) (i32.shl (local.get $v) (i32.const 2)))))))
                        (local.set $ra (i32.add (local.get $ra) (i32.const 4)))
                        (local.set $v (i32.add (local.get $v) (i32.const 1)))
                        (br $lLoop)))
                      (local.set $wa (i32.add (local.get $wa) (i32.shl (local.get $nv) (i32.const 4))))
                      (local.set $k (i32.add (local.get $k) (i32.const 1)))
                      (br $kLoop2)))))))
            (local.set $yp (i32.add (local.get $yp) (i32.const 4)))
            (local.set $dyp (i32.add (local.get $dyp) (i32.const 4)))
            (local.set $ch (i32.add (local.get $ch) (i32.const 1)))
            (br $channels)))
          (local.set $j (i32.add (local.get $j) (i32.const 1)))
          (br $cols)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $rows)))
      (local.set $b (i32.add (local.get $b) (i32.const 1)))
      (br $batch)))
  )
)
