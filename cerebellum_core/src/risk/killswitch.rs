//! Kill switch state: one trading state for the whole account, per strategy
//! and per symbol; an order is governed by the most restrictive of the three.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::protocol::commands::{Scope, TradingState};

/// Trading states by scope.
#[derive(Clone, Debug, Default)]
pub struct KillSwitch {
    global: Option<TradingState>,
    strategies: BTreeMap<String, TradingState>,
    symbols: BTreeMap<String, TradingState>,
}

/// The `trading_state` object of the wire (only non-active entries are listed).
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct TradingStateView {
    /// Global state.
    pub global: &'static str,
    /// Non-active strategies.
    pub strategies: BTreeMap<String, &'static str>,
    /// Non-active symbols.
    pub symbols: BTreeMap<String, &'static str>,
}

impl KillSwitch {
    /// Creates an all-active switch.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the state of a scope.
    pub fn set(&mut self, scope: &Scope, state: TradingState) {
        let active = state == TradingState::Active;
        match scope {
            Scope::Global => self.global = (!active).then_some(state),
            Scope::Strategy(s) => {
                if active {
                    self.strategies.remove(s);
                } else {
                    self.strategies.insert(s.clone(), state);
                }
            }
            Scope::Symbol(s) => {
                if active {
                    self.symbols.remove(s);
                } else {
                    self.symbols.insert(s.clone(), state);
                }
            }
        }
    }

    /// Returns the state of a scope itself.
    pub fn state_of(&self, scope: &Scope) -> TradingState {
        let state = match scope {
            Scope::Global => self.global,
            Scope::Strategy(s) => self.strategies.get(s).copied(),
            Scope::Symbol(s) => self.symbols.get(s).copied(),
        };
        state.unwrap_or(TradingState::Active)
    }

    /// Returns the state governing an order of `strategy` in `symbol`.
    pub fn effective(&self, strategy: &str, symbol: &str) -> TradingState {
        let g = self.global.unwrap_or(TradingState::Active);
        let st = self
            .strategies
            .get(strategy)
            .copied()
            .unwrap_or(TradingState::Active);
        let sy = self
            .symbols
            .get(symbol)
            .copied()
            .unwrap_or(TradingState::Active);
        g.max(st).max(sy)
    }

    /// Returns the wire view.
    pub fn view(&self) -> TradingStateView {
        TradingStateView {
            global: self.global.unwrap_or(TradingState::Active).as_str(),
            strategies: self
                .strategies
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str()))
                .collect(),
            symbols: self
                .symbols
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str()))
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn most_restrictive_scope_wins() {
        let mut k = KillSwitch::new();
        k.set(&Scope::Strategy("a".into()), TradingState::Reducing);
        assert_eq!(k.effective("a", "BTC/USDT"), TradingState::Reducing);
        assert_eq!(k.effective("b", "BTC/USDT"), TradingState::Active);
        k.set(&Scope::Symbol("BTC/USDT".into()), TradingState::Halted);
        assert_eq!(k.effective("a", "BTC/USDT"), TradingState::Halted);
        k.set(&Scope::Symbol("BTC/USDT".into()), TradingState::Active);
        assert_eq!(k.effective("a", "BTC/USDT"), TradingState::Reducing);
        assert_eq!(k.view().strategies.get("a"), Some(&"REDUCING"));
    }
}
