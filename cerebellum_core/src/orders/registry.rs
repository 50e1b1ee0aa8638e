//! Orders by client order id. A second `NewOrder` with a known id is answered
//! from here (idempotent); closed orders are forgotten oldest-first only
//! beyond a large capacity.

use std::collections::{BTreeSet, HashMap, VecDeque};

use super::order::Order;
use crate::types::OrderKey;

/// Closed orders kept for idempotency and `QueryOrder`.
pub const CLOSED_ORDERS_KEPT: usize = 1_000_000;

/// All orders of the session.
#[derive(Debug, Default)]
pub struct Registry {
    orders: HashMap<OrderKey, Order>,
    by_client_id: HashMap<String, OrderKey>,
    open: BTreeSet<OrderKey>,
    closed: VecDeque<OrderKey>,
    next_key: OrderKey,
}

impl Registry {
    /// Creates an empty registry.
    pub fn new() -> Self {
        Self {
            next_key: 1,
            ..Self::default()
        }
    }

    /// Returns a fresh key.
    pub fn next_key(&mut self) -> OrderKey {
        let key = self.next_key;
        self.next_key += 1;
        key
    }

    /// Inserts a new (open) order.
    pub fn insert(&mut self, order: Order) {
        self.by_client_id
            .insert(order.client_order_id.clone(), order.key);
        self.open.insert(order.key);
        self.orders.insert(order.key, order);
    }

    /// Forgets an order completely (a submit that the venue refused at once).
    pub fn remove(&mut self, key: OrderKey) -> Option<Order> {
        let order = self.orders.remove(&key)?;
        self.by_client_id.remove(&order.client_order_id);
        self.open.remove(&key);
        Some(order)
    }

    /// Returns an order by key.
    pub fn get(&self, key: OrderKey) -> Option<&Order> {
        self.orders.get(&key)
    }

    /// Returns an order by key, mutably.
    pub fn get_mut(&mut self, key: OrderKey) -> Option<&mut Order> {
        self.orders.get_mut(&key)
    }

    /// Returns an order by client order id.
    pub fn by_client_id(&self, client_order_id: &str) -> Option<&Order> {
        self.by_client_id
            .get(client_order_id)
            .and_then(|k| self.orders.get(k))
    }

    /// Returns the keys of open orders in creation order.
    pub fn open_keys(&self) -> Vec<OrderKey> {
        self.open.iter().copied().collect()
    }

    /// Returns the open orders in creation order.
    pub fn open_orders(&self) -> impl Iterator<Item = &Order> {
        self.open.iter().filter_map(|k| self.orders.get(k))
    }

    /// Returns the number of open orders.
    pub fn open_count(&self) -> usize {
        self.open.len()
    }

    /// Marks an order closed (after a terminal status) and evicts old closed orders.
    pub fn close(&mut self, key: OrderKey) {
        if self.open.remove(&key) {
            self.closed.push_back(key);
        }
        while self.closed.len() > CLOSED_ORDERS_KEPT {
            if let Some(old) = self.closed.pop_front() {
                if let Some(order) = self.orders.remove(&old) {
                    self.by_client_id.remove(&order.client_order_id);
                }
            }
        }
    }
}
