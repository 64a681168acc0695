//! Stored records read back from their JSON text as objects only.
//!
//! `serde_json` lets a derived struct be written as an object or as an array
//! of its fields, so every record type carries an array reader that nothing
//! here ever writes. Reading the outermost struct through [`ObjectOnly`]
//! leaves that reader out of the wasm module for the three stored records.
//! Text that is not an object is refused, as before.

use serde::de::{DeserializeOwned, Deserializer, Visitor};

/// `T` from `text`, where `T`'s outermost struct must be a JSON object.
pub(crate) fn from_object_str<T: DeserializeOwned>(text: &str) -> serde_json::Result<T> {
    let mut de = serde_json::Deserializer::from_str(text);
    let value = T::deserialize(ObjectOnly(&mut de))?;
    de.end()?;
    Ok(value)
}

/// A deserializer that reads a struct as a map and everything else as is.
struct ObjectOnly<D>(D);

impl<'de, D: Deserializer<'de>> Deserializer<'de> for ObjectOnly<D> {
    type Error = D::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        self.0.deserialize_any(visitor)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.0.deserialize_map(visitor)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf option
        unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier ignored_any
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, serde::Deserialize)]
    struct Pair {
        name: String,
        inner: Option<Box<Pair>>,
    }

    #[test]
    fn reads_objects_and_refuses_arrays_and_trailing_text() {
        let pair: Pair = from_object_str(r#"{"name":"a","inner":{"name":"b","inner":null}}"#).unwrap();
        assert_eq!(pair.inner.unwrap().name, "b");
        assert!(from_object_str::<Pair>(r#"["a",null]"#).is_err());
        assert!(from_object_str::<Pair>(r#"{"name":"a","inner":null} x"#).is_err());
        assert!(from_object_str::<Pair>(r#"{"inner":null}"#).unwrap_err().to_string().contains("name"));
        assert_eq!(from_object_str::<Vec<u64>>("[1, 2]").unwrap(), vec![1, 2], "not a struct: read as is");
    }
}
