;; Which kinds of code unit a UTF-16 text holds (see ../char-census.ts), 16 units at a time.
;; Memory holds the text at address 0 (little-endian u16); the caller passes its length in units.
;; Returns the OR of these bits over every unit:
;;   1  C0 controls other than tab and line feed, and DEL: [\x00-\x08\x0b-\x1f\x7f]
;;   2  what JSON writes as \u00XX: [\x00-\x07\x0b\x0e-\x1f]
;;   4  what JSON writes as two bytes: ["\\\b\t\n\f\r]
;;   8  anything past ASCII: [\x80-\uffff]
(module
  (import "env" "memory" (memory 1))
  (func (export "census") (param $units i32) (result i32)
    (local $at i32) (local $end i32) (local $v v128) (local $c0 v128) (local $esc v128)
    (local $hidden v128) (local $long v128) (local $short v128) (local $wide v128)
    (local $flags i32)
    ;; 16 units a step, narrowed to bytes (a unit past 0xff reads 0xff, still wide).
    (local.set $end (i32.shl (i32.and (local.get $units) (i32.const -16)) (i32.const 1)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $at) (local.get $end)))
        ;; (The narrowing reads its lanes as signed: 0x8000 and past would read 0, so they are
        ;; brought down to 0xff first.)
        (local.set $v (i8x16.narrow_i16x8_u
          (i16x8.min_u (v128.load (local.get $at)) (i16x8.splat (i32.const 0xff)))
          (i16x8.min_u (v128.load offset=16 (local.get $at)) (i16x8.splat (i32.const 0xff)))))
        ;; Anything but printable ASCII other than `"` and `\` (most steps of text are all such):
        ;; `c - 0x20 > 0x5e` holds for the controls (they wrap) and for DEL and past.
        (if (v128.any_true (v128.or
              (i8x16.gt_u (i8x16.sub (local.get $v) (i8x16.splat (i32.const 0x20))) (i8x16.splat (i32.const 0x5e)))
              (v128.or (i8x16.eq (local.get $v) (i8x16.splat (i32.const 0x22)))
                       (i8x16.eq (local.get $v) (i8x16.splat (i32.const 0x5c))))))
          (then
            (local.set $c0 (i8x16.lt_u (local.get $v) (i8x16.splat (i32.const 0x20))))
            ;; The controls JSON writes as two bytes: \b \t \n \f \r.
            (local.set $esc
              (v128.or
                (v128.or
                  (v128.or (i8x16.eq (local.get $v) (i8x16.splat (i32.const 0x08)))
                           (i8x16.eq (local.get $v) (i8x16.splat (i32.const 0x09))))
                  (v128.or (i8x16.eq (local.get $v) (i8x16.splat (i32.const 0x0a)))
                           (i8x16.eq (local.get $v) (i8x16.splat (i32.const 0x0c)))))
                (i8x16.eq (local.get $v) (i8x16.splat (i32.const 0x0d)))))
            (local.set $hidden (v128.or (local.get $hidden)
              (v128.or
                (v128.andnot (local.get $c0)
                  (v128.or (i8x16.eq (local.get $v) (i8x16.splat (i32.const 0x09)))
                           (i8x16.eq (local.get $v) (i8x16.splat (i32.const 0x0a)))))
                (i8x16.eq (local.get $v) (i8x16.splat (i32.const 0x7f))))))
            (local.set $long (v128.or (local.get $long) (v128.andnot (local.get $c0) (local.get $esc))))
            (local.set $short (v128.or (local.get $short)
              (v128.or (local.get $esc)
                (v128.or (i8x16.eq (local.get $v) (i8x16.splat (i32.const 0x22)))
                         (i8x16.eq (local.get $v) (i8x16.splat (i32.const 0x5c)))))))
            (local.set $wide (v128.or (local.get $wide)
              (i8x16.gt_u (local.get $v) (i8x16.splat (i32.const 0x7f)))))))
        (local.set $at (i32.add (local.get $at) (i32.const 32)))
        (br $next)))
    (if (v128.any_true (local.get $hidden)) (then (local.set $flags (i32.or (local.get $flags) (i32.const 1)))))
    (if (v128.any_true (local.get $long)) (then (local.set $flags (i32.or (local.get $flags) (i32.const 2)))))
    (if (v128.any_true (local.get $short)) (then (local.set $flags (i32.or (local.get $flags) (i32.const 4)))))
    (if (v128.any_true (local.get $wide)) (then (local.set $flags (i32.or (local.get $flags) (i32.const 8)))))
    ;; The last few units one by one.
    (local.set $end (i32.shl (local.get $units) (i32.const 1)))
    (block $tail
      (loop $unit
        (br_if $tail (i32.ge_u (local.get $at) (local.get $end)))
        (local.set $flags (i32.or (local.get $flags) (call $kind (i32.load16_u (local.get $at)))))
        (local.set $at (i32.add (local.get $at) (i32.const 2)))
        (br $unit)))
    (local.get $flags))

  ;; The bits of one code unit.
  (func $kind (param $c i32) (result i32)
    (local $k i32)
    (if (i32.gt_u (local.get $c) (i32.const 0x7f)) (then (return (i32.const 8))))
    (if (i32.eq (local.get $c) (i32.const 0x7f)) (then (return (i32.const 1))))
    (if (i32.or (i32.eq (local.get $c) (i32.const 0x22)) (i32.eq (local.get $c) (i32.const 0x5c)))
      (then (return (i32.const 4))))
    (if (i32.ge_u (local.get $c) (i32.const 0x20)) (then (return (i32.const 0))))
    ;; A control: hidden unless tab or line feed; JSON's short escape or its long one.
    (if (i32.and (i32.ne (local.get $c) (i32.const 0x09)) (i32.ne (local.get $c) (i32.const 0x0a)))
      (then (local.set $k (i32.const 1))))
    (if (i32.or
          (i32.or (i32.eq (local.get $c) (i32.const 0x08)) (i32.eq (local.get $c) (i32.const 0x0c)))
          (i32.or (i32.or (i32.eq (local.get $c) (i32.const 0x09)) (i32.eq (local.get $c) (i32.const 0x0a)))
                  (i32.eq (local.get $c) (i32.const 0x0d))))
      (then (return (i32.or (local.get $k) (i32.const 4)))))
    (i32.or (local.get $k) (i32.const 2))))
