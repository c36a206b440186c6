;; The L∞ PGD step, one pass of 4-lane SIMD over float32 arrays (src/engine/linf-kernel.ts).
;; Compiled by `npm run build:kernels` into linf-step-binary.ts; a test checks that the two agree.
;;
;;   out = min(max(x0 + min(max(moved − x0, −ε), ε), lo), hi),   moved = x + α·sign(g)
;;
;; Each operation is IEEE float32 in the order the tfjs ops of src/attacks/pgd.ts apply it. The
;; signed step is (x + (g > 0 ? α : 0)) − (g < 0 ? α : 0): exact, and 0 for a NaN gradient, as
;; tf.sign gives. pmin/pmax (b < a ? b : a, a < b ? b : a) are one instruction on x86 where
;; min/max are about six; they differ only for NaN (none reaches them) and in a zero's sign.
;;
;; Each module instance owns its memory: the caller lays its arrays out in it.
(module
  (memory (export "memory") 1)

  ;; x, g, o, out: byte offsets of arrays of n float32 (n a multiple of 4); out may be x.
  (func (export "step")
    (param $x i32) (param $g i32) (param $o i32) (param $out i32) (param $n i32)
    (param $size f32) (param $eps f32) (param $lo f32) (param $hi f32)
    (local $at i32) (local $end i32)
    (local $vsize v128) (local $veps v128) (local $vneg v128) (local $vlo v128) (local $vhi v128)
    (local $zero v128) (local $vg v128) (local $delta v128)
    (local.set $vsize (f32x4.splat (local.get $size)))
    (local.set $veps (f32x4.splat (local.get $eps)))
    (local.set $vneg (f32x4.splat (f32.neg (local.get $eps))))
    (local.set $vlo (f32x4.splat (local.get $lo)))
    (local.set $vhi (f32x4.splat (local.get $hi)))
    (local.set $end (i32.shl (local.get $n) (i32.const 2)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $at) (local.get $end)))
        (local.set $vg (v128.load (i32.add (local.get $g) (local.get $at))))
        (local.set $delta
          (f32x4.pmin
            (f32x4.pmax
              (f32x4.sub
                (f32x4.sub
                  (f32x4.add
                    (v128.load (i32.add (local.get $x) (local.get $at)))
                    (v128.and (f32x4.gt (local.get $vg) (local.get $zero)) (local.get $vsize)))
                  (v128.and (f32x4.lt (local.get $vg) (local.get $zero)) (local.get $vsize)))
                (v128.load (i32.add (local.get $o) (local.get $at))))
              (local.get $vneg))
            (local.get $veps)))
        (v128.store (i32.add (local.get $out) (local.get $at))
          (f32x4.pmin
            (f32x4.pmax
              (f32x4.add (v128.load (i32.add (local.get $o) (local.get $at))) (local.get $delta))
              (local.get $vlo))
            (local.get $vhi)))
        (local.set $at (i32.add (local.get $at) (i32.const 16)))
        (br $next)))))
