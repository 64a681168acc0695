//! The expiry queue both the shards and the client table keep: ids by the
//! second they expire, swept a bounded number at a time (no timers).

use std::collections::BTreeMap;

use crate::clock::UnixTime;

/// Ids queued by expiry time.
pub(super) type ExpiryQueue<T> = BTreeMap<UnixTime, Vec<T>>;

/// Takes at most `budget` ids due by `now`, earliest first, dropping the
/// queue entries it empties. The caller checks each id against its record,
/// which may have been replaced or removed since it was queued.
pub(super) fn take_due<T>(queue: &mut ExpiryQueue<T>, now: UnixTime, budget: usize) -> Vec<T> {
    let mut taken = Vec::new();
    while taken.len() < budget {
        let Some(mut due) = queue.first_entry() else { break };
        if *due.key() > now {
            break;
        }
        let items = due.get_mut();
        while taken.len() < budget {
            let Some(item) = items.pop() else { break };
            taken.push(item);
        }
        if items.is_empty() {
            due.remove();
        }
    }
    taken
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn takes_only_what_is_due_and_at_most_the_budget() {
        let mut queue: ExpiryQueue<u32> = BTreeMap::new();
        queue.entry(10).or_default().extend([1, 2, 3]);
        queue.entry(20).or_default().push(4);
        assert!(take_due(&mut queue, 9, 10).is_empty(), "nothing due yet");
        assert_eq!(take_due(&mut queue, 10, 2).len(), 2, "the budget holds");
        assert_eq!(take_due(&mut queue, 30, 10).len(), 2, "the rest, across seconds");
        assert!(queue.is_empty(), "emptied entries are dropped");
    }
}
