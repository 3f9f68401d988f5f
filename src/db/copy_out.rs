//! Reading the rows of a PostgreSQL `COPY ... TO STDOUT (FORMAT binary)` stream, without an
//! allocation per row.
//!
//! Diesel (2.3) leaves the connection mid-copy after `copy_to`: its typed reader stops at the
//! stream's trailer, and neither it nor the raw reader collects the copy's final status, so the
//! connection's next statement fails with "another command is already in progress". Hence
//! [`for_each_row`] reads the stream to its end and [`finish`] collects the status.
//!
//! The format is PostgreSQL's documented binary copy format: a signature, flags and a header
//! extension, then per row a field count and, per field, a length (-1 for NULL) and that many
//! bytes, then a count of -1.

use std::io::{self, Read};

const SIGNATURE: &[u8; 11] = b"PGCOPY\n\xff\r\n\0";

/// One row's fields, as the bytes of their binary representation.
pub struct Row<'a> {
    bytes: &'a [u8],
    fields: &'a [Option<(usize, usize)>],
}

impl Row<'_> {
    /// Field `i`'s bytes; `None` for NULL or a field the row does not have.
    pub fn field(&self, i: usize) -> Option<&[u8]> {
        let (start, end) = (*self.fields.get(i)?)?;
        Some(&self.bytes[start..end])
    }
}

fn invalid(what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("binary COPY stream: {what}"),
    )
}

fn read_array<const N: usize>(r: &mut impl Read) -> io::Result<[u8; N]> {
    let mut buf = [0; N];
    r.read_exact(&mut buf)?;
    Ok(buf)
}

/// Hands each row of the stream to `each`, then reads the stream to its end.
pub fn for_each_row(mut r: impl Read, mut each: impl FnMut(&Row<'_>)) -> io::Result<()> {
    if &read_array::<11>(&mut r)? != SIGNATURE {
        return Err(invalid("no signature"));
    }
    let _flags = read_array::<4>(&mut r)?;
    let extension = u32::from_be_bytes(read_array(&mut r)?);
    io::copy(&mut (&mut r).take(u64::from(extension)), &mut io::sink())?;
    let (mut bytes, mut fields) = (Vec::new(), Vec::new());
    loop {
        let count = i16::from_be_bytes(read_array(&mut r)?);
        if count < 0 {
            // The trailer; what follows is the end of the copy, which libpq must see.
            io::copy(&mut r, &mut io::sink())?;
            return Ok(());
        }
        bytes.clear();
        fields.clear();
        for _ in 0..count {
            let len = i32::from_be_bytes(read_array(&mut r)?);
            let Ok(len) = usize::try_from(len) else {
                fields.push(None);
                continue;
            };
            let start = bytes.len();
            bytes.resize(start + len, 0);
            r.read_exact(&mut bytes[start..])?;
            fields.push(Some((start, start + len)));
        }
        each(&Row {
            bytes: &bytes,
            fields: &fields,
        });
    }
}

/// Makes the connection usable after a copy read to its end: a simple query (libpq's `PQexec`,
/// which diesel's `batch_execute` uses) first collects and discards the pending final status.
pub fn finish(conn: &mut diesel::PgConnection) -> diesel::QueryResult<()> {
    use diesel::connection::SimpleConnection;
    conn.batch_execute("SELECT 1")
}

/// A binary `timestamp` (microseconds since 2000-01-01, in UTC here) as Unix seconds.
pub fn timestamp_secs(field: &[u8]) -> Option<i64> {
    let micros = i64::from_be_bytes(field.try_into().ok()?);
    Some(micros.div_euclid(1_000_000) + 946_684_800)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stream(rows: &[&[Option<&[u8]>]]) -> Vec<u8> {
        let mut out = SIGNATURE.to_vec();
        out.extend(0u32.to_be_bytes());
        out.extend(2u32.to_be_bytes());
        out.extend([9, 9]);
        for row in rows {
            out.extend((row.len() as i16).to_be_bytes());
            for field in *row {
                match field {
                    Some(b) => {
                        out.extend((b.len() as i32).to_be_bytes());
                        out.extend(*b);
                    }
                    None => out.extend((-1i32).to_be_bytes()),
                }
            }
        }
        out.extend((-1i16).to_be_bytes());
        out
    }

    #[test]
    fn rows_fields_and_nulls_are_read_and_the_stream_is_read_to_its_end() {
        let data = stream(&[&[Some(b"abc"), None], &[Some(b""), Some(b"xyz")]]);
        let mut seen = Vec::new();
        let mut reader = io::Cursor::new(data);
        for_each_row(&mut reader, |row| {
            seen.push((
                row.field(0).map(<[u8]>::to_vec),
                row.field(1).map(<[u8]>::to_vec),
                row.field(2).is_none(),
            ));
        })
        .expect("a valid stream");
        assert_eq!(
            seen,
            [
                (Some(b"abc".to_vec()), None, true),
                (Some(Vec::new()), Some(b"xyz".to_vec()), true)
            ]
        );
        assert_eq!(reader.position(), reader.get_ref().len() as u64);
    }

    #[test]
    fn a_stream_without_the_signature_or_cut_short_is_an_error() {
        assert!(for_each_row(&b"COPY"[..], |_| {}).is_err());
        let data = stream(&[&[Some(b"abc")]]);
        assert!(for_each_row(&data[..data.len() - 4], |_| {}).is_err());
    }

    #[test]
    fn timestamps_count_microseconds_from_2000() {
        assert_eq!(timestamp_secs(&0i64.to_be_bytes()), Some(946_684_800));
        assert_eq!(timestamp_secs(&(-1i64).to_be_bytes()), Some(946_684_799));
        assert_eq!(timestamp_secs(&[0; 4]), None);
    }
}
