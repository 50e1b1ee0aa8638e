//! The report journal: journaled reports (`OrderUpdate`, `RiskEvent`) with
//! sequence numbers 1, 2, 3, ... per session, the last `capacity` kept for
//! `ReplayReports`.

use std::{collections::VecDeque, sync::Arc};

/// Bounded log of encoded reports.
#[derive(Debug)]
pub struct Journal {
    capacity: usize,
    entries: VecDeque<Arc<[u8]>>,
    last_seq: u64,
}

/// `from_seq` is older than the journal keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReplayUnavailable {
    /// Oldest sequence still kept.
    pub oldest: u64,
}

impl Journal {
    /// Creates an empty journal.
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            entries: VecDeque::new(),
            last_seq: 0,
        }
    }

    /// Returns the highest sequence number issued (0 before the first report).
    pub const fn last_seq(&self) -> u64 {
        self.last_seq
    }

    /// Returns the sequence number the next report must carry.
    pub const fn next_seq(&self) -> u64 {
        self.last_seq + 1
    }

    /// Returns the oldest sequence still kept.
    pub fn oldest_seq(&self) -> u64 {
        self.last_seq + 1 - self.entries.len() as u64
    }

    /// Appends a report encoded with `seq == next_seq()`.
    pub fn append(&mut self, body: Vec<u8>) -> Arc<[u8]> {
        let entry: Arc<[u8]> = Arc::from(body.into_boxed_slice());
        self.last_seq += 1;
        self.entries.push_back(Arc::clone(&entry));
        while self.entries.len() > self.capacity {
            self.entries.pop_front();
        }
        entry
    }

    /// Returns the reports `from_seq..=last_seq` (`from_seq` 0 means 1).
    ///
    /// # Errors
    /// [`ReplayUnavailable`] when reports from `from_seq` were dropped.
    pub fn replay(&self, from_seq: u64) -> Result<Vec<Arc<[u8]>>, ReplayUnavailable> {
        let from = from_seq.max(1);
        if from > self.last_seq {
            return Ok(Vec::new());
        }
        let oldest = self.oldest_seq();
        if from < oldest {
            return Err(ReplayUnavailable { oldest });
        }
        let skip = (from - oldest) as usize;
        Ok(self.entries.iter().skip(skip).cloned().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replay_returns_the_tail_and_refuses_evicted_seqs() {
        let mut j = Journal::new(3);
        for i in 1..=5u8 {
            assert_eq!(j.next_seq(), u64::from(i));
            j.append(vec![i]);
        }
        assert_eq!(j.last_seq(), 5);
        assert_eq!(j.oldest_seq(), 3);
        let tail = j.replay(4).unwrap();
        assert_eq!(tail.iter().map(|e| e[0]).collect::<Vec<_>>(), vec![4, 5]);
        assert_eq!(j.replay(2), Err(ReplayUnavailable { oldest: 3 }));
        assert!(j.replay(6).unwrap().is_empty());
    }
}
