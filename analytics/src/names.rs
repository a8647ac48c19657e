//! Service, operation and peer names as small integers while spans are buffered and counted.

use rustc_hash::FxHashMap;

/// Interns names; ids are stable for the life of the worker (names are few: services × operations).
#[derive(Default)]
pub struct Names {
    ids: FxHashMap<Box<str>, u32>,
    names: Vec<Box<str>>,
}

impl Names {
    pub fn id(&mut self, name: &str) -> u32 {
        if let Some(id) = self.ids.get(name) {
            return *id;
        }
        let id = self.names.len() as u32;
        self.names.push(name.into());
        self.ids.insert(name.into(), id);
        id
    }

    pub fn name(&self, id: u32) -> &str {
        self.names.get(id as usize).map_or("", |name| name)
    }
}
