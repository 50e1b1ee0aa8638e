//! The L3 book and price-time matching: unit cases and proptest properties
//! (never crossed after matching, FIFO within a level, conservation of quantity).

use cerebellum_core::{
    types::Side,
    venue::sim::{
        book::{Book, Owner},
        matching::{execute, place_limit, MatchOut, TradeIds},
    },
};
use proptest::prelude::*;

fn ids() -> TradeIds {
    TradeIds::new(0, 1)
}

#[test]
fn test_market_buy_takes_best_ask_first_and_fifo_within_the_level() {
    let mut book = Book::new();
    book.add(Side::Sell, 101, 5, Owner::Agent(1));
    book.add(Side::Sell, 100, 3, Owner::Agent(2));
    book.add(Side::Sell, 100, 4, Owner::Agent(3));
    let mut out = MatchOut::default();
    let filled = execute(&mut book, 0, &mut ids(), Side::Buy, None, 9, 7, &mut out);
    assert_eq!(filled, 9);
    let makers: Vec<_> = out
        .agent_fills
        .iter()
        .map(|f| (f.key, f.price, f.qty, f.done))
        .collect();
    assert_eq!(
        makers,
        vec![(2, 100, 3, true), (3, 100, 4, true), (1, 101, 2, false)]
    );
    let trades: Vec<_> = out.trades.iter().map(|t| (t.price, t.qty)).collect();
    assert_eq!(trades, vec![(100, 7), (101, 2)], "one trade per level");
    assert_eq!(book.best_ask(), Some(101));
    assert_eq!(book.level_qty(Side::Sell, 101), 3);
    book.check_invariants().unwrap();
}

#[test]
fn test_limit_order_matches_up_to_its_price_and_rests_the_remainder() {
    let mut book = Book::new();
    book.add(Side::Sell, 100, 2, Owner::Background);
    book.add(Side::Sell, 102, 2, Owner::Background);
    let mut out = MatchOut::default();
    let (filled, slot) = place_limit(
        &mut book,
        0,
        &mut ids(),
        Side::Buy,
        101,
        5,
        Owner::Agent(9),
        true,
        0,
        &mut out,
    );
    assert_eq!(filled, 2);
    let slot = slot.unwrap();
    assert_eq!(book.best_bid(), Some(101));
    assert_eq!(book.order(slot).unwrap().qty, 3);
    assert_eq!(book.best_ask(), Some(102));
    book.check_invariants().unwrap();
}

#[test]
fn test_cancel_removes_quantity_and_keeps_the_queue_position_of_others() {
    let mut book = Book::new();
    let a = book.add(Side::Buy, 50, 5, Owner::Background);
    let b = book.add(Side::Buy, 50, 6, Owner::Agent(1));
    let c = book.add(Side::Buy, 50, 7, Owner::Background);
    assert_eq!(book.queue_ahead(c), Some(11));
    assert_eq!(book.cancel(b), Some(6));
    assert_eq!(book.cancel(b), None, "cancelling twice is a no-op");
    assert_eq!(book.queue_ahead(c), Some(5));
    assert_eq!(book.level_qty(Side::Buy, 50), 12);
    assert_eq!(book.background_count(), 2);
    book.cancel(a);
    book.cancel(c);
    assert_eq!(book.best_bid(), None);
    book.check_invariants().unwrap();
}

#[derive(Clone, Debug)]
enum Op {
    Limit { buy: bool, price: i64, qty: i64 },
    Market { buy: bool, qty: i64 },
    Cancel { pick: usize },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (any::<bool>(), 90i64..110, 1i64..50).prop_map(|(buy, price, qty)| Op::Limit { buy, price, qty }),
        1 => (any::<bool>(), 1i64..120).prop_map(|(buy, qty)| Op::Market { buy, qty }),
        2 => (0usize..1000).prop_map(|pick| Op::Cancel { pick }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn book_is_never_crossed_and_quantity_is_conserved(ops in prop::collection::vec(op(), 1..300)) {
        let mut book = Book::new();
        let mut out = MatchOut::default();
        let mut ids = ids();
        let mut live: Vec<u32> = Vec::new();
        let mut key = 0u64;
        // Conservation: added = resting + traded (twice, maker and taker side) + cancelled.
        let mut added = 0i64;
        let mut cancelled = 0i64;
        let mut taker_filled = 0i64;
        for op in ops {
            match op {
                Op::Limit { buy, price, qty } => {
                    key += 1;
                    let side = if buy { Side::Buy } else { Side::Sell };
                    added += qty;
                    let (filled, slot) = place_limit(&mut book, 0, &mut ids, side, price, qty, Owner::Agent(key), true, 0, &mut out);
                    taker_filled += filled;
                    if let Some(s) = slot { live.push(s); }
                }
                Op::Market { buy, qty } => {
                    let side = if buy { Side::Buy } else { Side::Sell };
                    added += qty;
                    let filled = execute(&mut book, 0, &mut ids, side, None, qty, 0, &mut out);
                    taker_filled += filled;
                    cancelled += qty - filled;
                }
                Op::Cancel { pick } => {
                    if !live.is_empty() {
                        let slot = live.swap_remove(pick % live.len());
                        if let Some(q) = book.cancel(slot) { cancelled += q; }
                    }
                }
            }
            prop_assert!(book.check_invariants().is_ok(), "{:?}", book.check_invariants());
            if let (Some(b), Some(a)) = (book.best_bid(), book.best_ask()) {
                prop_assert!(b < a, "crossed: {} >= {}", b, a);
            }
        }
        let traded: i64 = out.trades.iter().map(|t| t.qty).sum();
        prop_assert_eq!(traded, taker_filled);
        let maker_filled: i64 = out.agent_fills.iter().map(|f| f.qty).sum();
        prop_assert_eq!(maker_filled, taker_filled);
        let resting = book.side_qty(Side::Buy) + book.side_qty(Side::Sell);
        prop_assert_eq!(added, resting + 2 * taker_filled + cancelled);
    }

    #[test]
    fn orders_at_one_level_fill_in_arrival_order(sizes in prop::collection::vec(1i64..20, 1..30), take in 1i64..400) {
        let mut book = Book::new();
        for (i, q) in sizes.iter().enumerate() {
            book.add(Side::Sell, 100, *q, Owner::Agent(i as u64));
        }
        let mut out = MatchOut::default();
        let filled = execute(&mut book, 0, &mut ids(), Side::Buy, None, take, 0, &mut out);
        let total: i64 = sizes.iter().sum();
        prop_assert_eq!(filled, take.min(total));
        // FIFO: fills go to keys 0, 1, 2, ... each completely before the next one starts.
        let mut remaining = filled;
        for (i, f) in out.agent_fills.iter().enumerate() {
            prop_assert_eq!(f.key, i as u64);
            let expected = sizes[i].min(remaining);
            prop_assert_eq!(f.qty, expected);
            prop_assert_eq!(f.done, expected == sizes[i]);
            remaining -= expected;
        }
        prop_assert_eq!(remaining, 0);
    }
}
