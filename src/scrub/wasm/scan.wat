;; The Aho–Corasick scan loop of a dense automaton (see ../aho-corasick.ts), over UTF-16 text.
;; Memory holds, at addresses the caller passes:
;;   classes: 65,536 u16, the class of each code unit times 4 (a byte offset within a row);
;;   text:    the window of code units to scan (little-endian u16);
;;   table:   one i32 per (state, class): the next state's row as a byte offset from `table`,
;;            with bit 0 set when that state reports a match;
;;   out:     pairs of i32 (end index within the window, entry) for each reporting step, room
;;            for one per character scanned.
;;
;; Each step's table load depends on the one before, so a single scan waits out a cache access
;; per character. `scan2` runs two scans over two stretches of the window in one loop: their
;; loads are independent and overlap, which nearly halves the time per character.
(module
  (import "env" "memory" (memory 1))
  ;; Entries at the end of the last call: of the first stretch and of the second.
  (global $stateA (export "stateA") (mut i32) (i32.const 0))
  (global $stateB (export "stateB") (mut i32) (i32.const 0))
  ;; Pairs written to each out buffer by the last call.
  (global $countA (export "countA") (mut i32) (i32.const 0))
  (global $countB (export "countB") (mut i32) (i32.const 0))

  ;; (Steps are written out in full in each loop: V8 does not inline calls between wasm functions.)

  ;; Scans [a, aTo) from $stateA into outA and [b, bTo) from $stateB into outB.
  (func (export "scan2")
    (param $a i32) (param $aTo i32) (param $b i32) (param $bTo i32)
    (param $classes i32) (param $text i32) (param $table i32) (param $outA i32) (param $outB i32)
    (local $ea i32) (local $eb i32) (local $na i32) (local $nb i32) (local $at i32)
    (local.set $ea (global.get $stateA))
    (local.set $eb (global.get $stateB))
    ;; Both stretches at once while both last.
    (block $both
      (loop $next
        (br_if $both (i32.ge_u (local.get $a) (local.get $aTo)))
        (br_if $both (i32.ge_u (local.get $b) (local.get $bTo)))
        (local.set $ea (i32.load
          (i32.add
            (i32.add (local.get $table) (i32.and (local.get $ea) (i32.const -4)))
            (i32.load16_u
              (i32.add
                (local.get $classes)
                (i32.shl
                  (i32.load16_u (i32.add (local.get $text) (i32.shl (local.get $a) (i32.const 1))))
                  (i32.const 1)))))))
        (local.set $eb (i32.load
          (i32.add
            (i32.add (local.get $table) (i32.and (local.get $eb) (i32.const -4)))
            (i32.load16_u
              (i32.add
                (local.get $classes)
                (i32.shl
                  (i32.load16_u (i32.add (local.get $text) (i32.shl (local.get $b) (i32.const 1))))
                  (i32.const 1)))))))
        (local.set $a (i32.add (local.get $a) (i32.const 1)))
        (local.set $b (i32.add (local.get $b) (i32.const 1)))
        (if (i32.and (local.get $ea) (i32.const 1))
          (then
            (local.set $at (i32.add (local.get $outA) (i32.shl (local.get $na) (i32.const 3))))
            (i32.store (local.get $at) (local.get $a))
            (i32.store offset=4 (local.get $at) (local.get $ea))
            (local.set $na (i32.add (local.get $na) (i32.const 1)))))
        (if (i32.and (local.get $eb) (i32.const 1))
          (then
            (local.set $at (i32.add (local.get $outB) (i32.shl (local.get $nb) (i32.const 3))))
            (i32.store (local.get $at) (local.get $b))
            (i32.store offset=4 (local.get $at) (local.get $eb))
            (local.set $nb (i32.add (local.get $nb) (i32.const 1)))))
        (br $next)))
    ;; Then what is left of either.
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $a) (local.get $aTo)))
        (local.set $ea (i32.load
          (i32.add
            (i32.add (local.get $table) (i32.and (local.get $ea) (i32.const -4)))
            (i32.load16_u
              (i32.add
                (local.get $classes)
                (i32.shl
                  (i32.load16_u (i32.add (local.get $text) (i32.shl (local.get $a) (i32.const 1))))
                  (i32.const 1)))))))
        (local.set $a (i32.add (local.get $a) (i32.const 1)))
        (if (i32.and (local.get $ea) (i32.const 1))
          (then
            (local.set $at (i32.add (local.get $outA) (i32.shl (local.get $na) (i32.const 3))))
            (i32.store (local.get $at) (local.get $a))
            (i32.store offset=4 (local.get $at) (local.get $ea))
            (local.set $na (i32.add (local.get $na) (i32.const 1)))))
        (br $next)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $b) (local.get $bTo)))
        (local.set $eb (i32.load
          (i32.add
            (i32.add (local.get $table) (i32.and (local.get $eb) (i32.const -4)))
            (i32.load16_u
              (i32.add
                (local.get $classes)
                (i32.shl
                  (i32.load16_u (i32.add (local.get $text) (i32.shl (local.get $b) (i32.const 1))))
                  (i32.const 1)))))))
        (local.set $b (i32.add (local.get $b) (i32.const 1)))
        (if (i32.and (local.get $eb) (i32.const 1))
          (then
            (local.set $at (i32.add (local.get $outB) (i32.shl (local.get $nb) (i32.const 3))))
            (i32.store (local.get $at) (local.get $b))
            (i32.store offset=4 (local.get $at) (local.get $eb))
            (local.set $nb (i32.add (local.get $nb) (i32.const 1)))))
        (br $next)))
    (global.set $stateA (local.get $ea))
    (global.set $stateB (local.get $eb))
    (global.set $countA (local.get $na))
    (global.set $countB (local.get $nb))))
