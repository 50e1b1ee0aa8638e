//! L3 limit order book: price levels in integer ticks, each a FIFO queue of orders.
//!
//! Orders live in a slab (`slots`); a level's queue holds slab indices. A
//! cancelled order is marked dead and skipped (lazy deletion): its quantity
//! leaves the level at once, so the L2 view and queue positions stay exact,
//! and the queue is compacted when dead entries pile up.
//!
//! Background (simulated) orders are also listed in `background` so that the
//! flow model can cancel a uniformly random one in O(1).

use std::collections::{BTreeMap, VecDeque};

use crate::types::{OrderKey, Side};

/// Who owns a resting order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Owner {
    /// Simulated background liquidity.
    Background,
    /// An order of the engine's agents.
    Agent(OrderKey),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SlotState {
    Free,
    Live,
    Dead,
}

#[derive(Clone, Copy, Debug)]
struct Slot {
    qty: i64,
    price: i64,
    side: Side,
    owner: Owner,
    background_idx: u32,
    state: SlotState,
}

#[derive(Debug, Default)]
struct Level {
    queue: VecDeque<u32>,
    qty: i64,
    live: u32,
}

/// One fill of a resting (maker) order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MakerFill {
    /// Level price in ticks.
    pub price: i64,
    /// Filled lots.
    pub qty: i64,
    /// Owner of the maker order.
    pub owner: Owner,
    /// Whether the maker order is now fully filled (and gone).
    pub done: bool,
}

/// A resting order as seen from outside.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RestingOrder {
    /// Side.
    pub side: Side,
    /// Price in ticks.
    pub price: i64,
    /// Remaining lots.
    pub qty: i64,
    /// Owner.
    pub owner: Owner,
}

/// A price-time priority order book.
#[derive(Debug, Default)]
pub struct Book {
    bids: BTreeMap<i64, Level>,
    asks: BTreeMap<i64, Level>,
    slots: Vec<Slot>,
    free: Vec<u32>,
    background: Vec<u32>,
    pool: Vec<VecDeque<u32>>,
    best_bid: Option<i64>,
    best_ask: Option<i64>,
}

/// The fields a matching loop needs, borrowed separately from the level maps.
struct Store<'a> {
    slots: &'a mut Vec<Slot>,
    free: &'a mut Vec<u32>,
    background: &'a mut Vec<u32>,
    pool: &'a mut Vec<VecDeque<u32>>,
}

impl Store<'_> {
    fn release(&mut self, idx: u32) {
        if let Some(slot) = self.slots.get_mut(idx as usize) {
            slot.state = SlotState::Free;
            self.free.push(idx);
        }
    }

    fn unlist_background(&mut self, idx: u32) {
        let Some(slot) = self.slots.get(idx as usize) else {
            return;
        };
        if slot.owner != Owner::Background {
            return;
        }
        let pos = slot.background_idx as usize;
        if pos < self.background.len() && self.background[pos] == idx {
            self.background.swap_remove(pos);
            if let Some(&moved) = self.background.get(pos) {
                self.slots[moved as usize].background_idx = pos as u32;
            }
        }
    }

    /// Frees every slot left in a removed level's queue and recycles the queue.
    fn retire_level(&mut self, mut level: Level) {
        for &idx in &level.queue {
            if self.slots.get(idx as usize).map(|s| s.state) == Some(SlotState::Dead) {
                self.release(idx);
            }
        }
        level.queue.clear();
        if self.pool.len() < 4096 {
            self.pool.push(level.queue);
        }
    }
}

impl Book {
    /// Creates an empty book.
    pub fn new() -> Self {
        Self::default()
    }

    /// Returns the best bid in ticks.
    #[inline]
    pub fn best_bid(&self) -> Option<i64> {
        self.best_bid
    }

    /// Returns the best ask in ticks.
    #[inline]
    pub fn best_ask(&self) -> Option<i64> {
        self.best_ask
    }

    /// Returns the best price of a side.
    #[inline]
    pub fn best(&self, side: Side) -> Option<i64> {
        match side {
            Side::Buy => self.best_bid,
            Side::Sell => self.best_ask,
        }
    }

    /// Returns the number of resting background orders.
    #[inline]
    pub fn background_count(&self) -> usize {
        self.background.len()
    }

    /// Returns the slot of the `i`-th background order (`i < background_count()`).
    #[inline]
    pub fn background_at(&self, i: usize) -> Option<u32> {
        self.background.get(i).copied()
    }

    /// Returns the number of price levels on a side.
    pub fn level_count(&self, side: Side) -> usize {
        match side {
            Side::Buy => self.bids.len(),
            Side::Sell => self.asks.len(),
        }
    }

    /// Returns the resting quantity at a price.
    pub fn level_qty(&self, side: Side, price: i64) -> i64 {
        let map = match side {
            Side::Buy => &self.bids,
            Side::Sell => &self.asks,
        };
        map.get(&price).map_or(0, |l| l.qty)
    }

    /// Returns the total resting quantity of a side.
    pub fn side_qty(&self, side: Side) -> i64 {
        let map = match side {
            Side::Buy => &self.bids,
            Side::Sell => &self.asks,
        };
        map.values().map(|l| l.qty).sum()
    }

    /// Returns a live order by slot.
    pub fn order(&self, slot: u32) -> Option<RestingOrder> {
        self.slots
            .get(slot as usize)
            .filter(|s| s.state == SlotState::Live)
            .map(|s| RestingOrder {
                side: s.side,
                price: s.price,
                qty: s.qty,
                owner: s.owner,
            })
    }

    /// Returns the quantity queued ahead of a live order at its level.
    pub fn queue_ahead(&self, slot: u32) -> Option<i64> {
        let s = self
            .slots
            .get(slot as usize)
            .filter(|s| s.state == SlotState::Live)?;
        let map = match s.side {
            Side::Buy => &self.bids,
            Side::Sell => &self.asks,
        };
        let level = map.get(&s.price)?;
        let mut ahead = 0;
        for &idx in &level.queue {
            if idx == slot {
                return Some(ahead);
            }
            let other = &self.slots[idx as usize];
            if other.state == SlotState::Live {
                ahead += other.qty;
            }
        }
        None
    }

    /// Whether an order on `side` at `price` would trade against the other side.
    #[inline]
    pub fn crosses(&self, side: Side, price: i64) -> bool {
        match side {
            Side::Buy => self.best_ask.is_some_and(|a| price >= a),
            Side::Sell => self.best_bid.is_some_and(|b| price <= b),
        }
    }

    /// Rests an order at the back of its level's queue and returns its slot.
    ///
    /// The caller matches first: the order must not cross (checked in debug builds).
    pub fn add(&mut self, side: Side, price: i64, qty: i64, owner: Owner) -> u32 {
        debug_assert!(!self.crosses(side, price), "resting order would cross");
        debug_assert!(qty > 0);
        let background_idx = self.background.len() as u32;
        let slot = Slot {
            qty,
            price,
            side,
            owner,
            background_idx,
            state: SlotState::Live,
        };
        let idx = match self.free.pop() {
            Some(idx) => {
                self.slots[idx as usize] = slot;
                idx
            }
            None => {
                self.slots.push(slot);
                (self.slots.len() - 1) as u32
            }
        };
        if owner == Owner::Background {
            self.background.push(idx);
        }
        let (map, best) = match side {
            Side::Buy => (&mut self.bids, &mut self.best_bid),
            Side::Sell => (&mut self.asks, &mut self.best_ask),
        };
        let pool = &mut self.pool;
        let level = map.entry(price).or_insert_with(|| Level {
            queue: pool.pop().unwrap_or_default(),
            qty: 0,
            live: 0,
        });
        level.queue.push_back(idx);
        level.qty += qty;
        level.live += 1;
        let better = match (side, *best) {
            (_, None) => true,
            (Side::Buy, Some(b)) => price > b,
            (Side::Sell, Some(a)) => price < a,
        };
        if better {
            *best = Some(price);
        }
        idx
    }

    /// Cancels a live order; returns its remaining quantity.
    pub fn cancel(&mut self, slot: u32) -> Option<i64> {
        let s = *self
            .slots
            .get(slot as usize)
            .filter(|s| s.state == SlotState::Live)?;
        let mut store = Store {
            slots: &mut self.slots,
            free: &mut self.free,
            background: &mut self.background,
            pool: &mut self.pool,
        };
        store.unlist_background(slot);
        store.slots[slot as usize].state = SlotState::Dead;
        let (map, best) = match s.side {
            Side::Buy => (&mut self.bids, &mut self.best_bid),
            Side::Sell => (&mut self.asks, &mut self.best_ask),
        };
        let Some(level) = map.get_mut(&s.price) else {
            // Unreachable by construction: a live slot always sits in its level.
            store.release(slot);
            return Some(s.qty);
        };
        level.qty -= s.qty;
        level.live -= 1;
        if level.live == 0 {
            if let Some(level) = map.remove(&s.price) {
                store.retire_level(level);
            }
            if *best == Some(s.price) {
                *best = match s.side {
                    Side::Buy => map.keys().next_back().copied(),
                    Side::Sell => map.keys().next().copied(),
                };
            }
        } else if level.queue.len() > 2 * level.live as usize + 16 {
            let slots = &*store.slots;
            let mut dead = Vec::new();
            level.queue.retain(|&idx| {
                let live = slots[idx as usize].state == SlotState::Live;
                if !live {
                    dead.push(idx);
                }
                live
            });
            for idx in dead {
                store.release(idx);
            }
        }
        Some(s.qty)
    }

    /// Takes liquidity from the side opposite `taker`: best price first, FIFO
    /// within a level, down to `limit` (inclusive) if given. Calls `on_fill`
    /// for each maker fill and returns the lots filled.
    pub fn take<F: FnMut(MakerFill)>(
        &mut self,
        taker: Side,
        limit: Option<i64>,
        qty: i64,
        mut on_fill: F,
    ) -> i64 {
        let mut remaining = qty;
        let mut store = Store {
            slots: &mut self.slots,
            free: &mut self.free,
            background: &mut self.background,
            pool: &mut self.pool,
        };
        let (map, best) = match taker {
            Side::Buy => (&mut self.asks, &mut self.best_ask),
            Side::Sell => (&mut self.bids, &mut self.best_bid),
        };
        while remaining > 0 {
            let Some(price) = *best else { break };
            if let Some(limit) = limit {
                let beyond = match taker {
                    Side::Buy => price > limit,
                    Side::Sell => price < limit,
                };
                if beyond {
                    break;
                }
            }
            let Some(level) = map.get_mut(&price) else {
                // Unreachable by construction: the cached best always exists.
                *best = None;
                break;
            };
            while remaining > 0 {
                let Some(&idx) = level.queue.front() else {
                    break;
                };
                let slot = &mut store.slots[idx as usize];
                if slot.state != SlotState::Live {
                    level.queue.pop_front();
                    store.release(idx);
                    continue;
                }
                let q = remaining.min(slot.qty);
                slot.qty -= q;
                level.qty -= q;
                remaining -= q;
                let done = slot.qty == 0;
                let owner = slot.owner;
                if done {
                    level.queue.pop_front();
                    level.live -= 1;
                    store.unlist_background(idx);
                    store.release(idx);
                }
                on_fill(MakerFill {
                    price,
                    qty: q,
                    owner,
                    done,
                });
            }
            if level.live == 0 {
                if let Some(level) = map.remove(&price) {
                    store.retire_level(level);
                }
                *best = match taker {
                    Side::Buy => map.keys().next().copied(),
                    Side::Sell => map.keys().next_back().copied(),
                };
            }
        }
        qty - remaining
    }

    /// Writes the top `depth` levels of a side, best first, as `(ticks, lots)`.
    pub fn levels(&self, side: Side, depth: usize, out: &mut Vec<(i64, i64)>) {
        out.clear();
        match side {
            Side::Buy => out.extend(self.bids.iter().rev().take(depth).map(|(p, l)| (*p, l.qty))),
            Side::Sell => out.extend(self.asks.iter().take(depth).map(|(p, l)| (*p, l.qty))),
        }
    }

    /// Returns the live orders of a level in queue order (for tests and tools).
    pub fn queue(&self, side: Side, price: i64) -> Vec<RestingOrder> {
        let map = match side {
            Side::Buy => &self.bids,
            Side::Sell => &self.asks,
        };
        map.get(&price)
            .map(|level| {
                level
                    .queue
                    .iter()
                    .filter_map(|&idx| self.order(idx))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Checks the structural invariants; returns the first violation.
    ///
    /// # Errors
    /// A description of the broken invariant.
    pub fn check_invariants(&self) -> Result<(), String> {
        if let (Some(b), Some(a)) = (self.best_bid, self.best_ask) {
            if b >= a {
                return Err(format!("crossed book: bid {b} >= ask {a}"));
            }
        }
        if self.best_bid != self.bids.keys().next_back().copied() {
            return Err("stale best bid".into());
        }
        if self.best_ask != self.asks.keys().next().copied() {
            return Err("stale best ask".into());
        }
        let mut live_total = 0usize;
        for (side, map) in [(Side::Buy, &self.bids), (Side::Sell, &self.asks)] {
            for (price, level) in map {
                let mut qty = 0;
                let mut live = 0;
                for &idx in &level.queue {
                    let s = self
                        .slots
                        .get(idx as usize)
                        .ok_or("queue index out of slab")?;
                    match s.state {
                        SlotState::Live => {
                            if s.price != *price || s.side != side {
                                return Err("order in the wrong level".into());
                            }
                            if s.qty <= 0 {
                                return Err("live order without quantity".into());
                            }
                            qty += s.qty;
                            live += 1;
                        }
                        SlotState::Dead => {}
                        SlotState::Free => return Err("freed slot still queued".into()),
                    }
                }
                if qty != level.qty || live != level.live || live == 0 {
                    return Err(format!("level {price} totals disagree"));
                }
                live_total += live as usize;
            }
        }
        let slab_live = self
            .slots
            .iter()
            .filter(|s| s.state == SlotState::Live)
            .count();
        if slab_live != live_total {
            return Err("live slots not all queued".into());
        }
        for (i, &idx) in self.background.iter().enumerate() {
            let s = &self.slots[idx as usize];
            if s.state != SlotState::Live
                || s.owner != Owner::Background
                || s.background_idx as usize != i
            {
                return Err("background list out of sync".into());
            }
        }
        Ok(())
    }
}
