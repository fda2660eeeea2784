;; The Aho–Corasick scan loop of a dense automaton (see ../aho-corasick.ts), over UTF-16 text.
;; Memory holds, at addresses the caller passes:
;;   classes: 65,536 u16, the class of each code unit times 4 (a byte offset within a row);
;;   text:    the window of code units to scan (little-endian u16);
;;   table:   one i32 per (state, class): the next state's row as a byte offset from `table`,
;;            with bit 0 set when that state reports a match;
;;   out:     pairs of i32 (end index within the window, entry) for each reporting step.
;; `state` carries the entry of the current state between calls (0: the root). A call stops at
;; `to` or when `out` holds `cap` pairs, and returns the index it stopped at.
(module
  (import "env" "memory" (memory 1))
  (global $state (export "state") (mut i32) (i32.const 0))
  (global $count (export "count") (mut i32) (i32.const 0))
  (func (export "scan")
    (param $i i32) (param $to i32) (param $classes i32) (param $text i32) (param $table i32)
    (param $out i32) (param $cap i32) (result i32)
    (local $e i32) (local $n i32) (local $at i32)
    (local.set $e (global.get $state))
    (block $done
      (br_if $done (i32.ge_u (local.get $i) (local.get $to)))
      (loop $next
        (local.set $e
          (i32.load
            (i32.add
              (i32.add (local.get $table) (i32.and (local.get $e) (i32.const -4)))
              (i32.load16_u
                (i32.add
                  (local.get $classes)
                  (i32.shl
                    (i32.load16_u
                      (i32.add (local.get $text) (i32.shl (local.get $i) (i32.const 1))))
                    (i32.const 1)))))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (if (i32.and (local.get $e) (i32.const 1))
          (then
            (local.set $at (i32.add (local.get $out) (i32.shl (local.get $n) (i32.const 3))))
            (i32.store (local.get $at) (local.get $i))
            (i32.store offset=4 (local.get $at) (local.get $e))
            (local.set $n (i32.add (local.get $n) (i32.const 1)))
            (br_if $done (i32.ge_u (local.get $n) (local.get $cap)))))
        (br_if $next (i32.lt_u (local.get $i) (local.get $to)))))
    (global.set $state (local.get $e))
    (global.set $count (local.get $n))
    (local.get $i)))
