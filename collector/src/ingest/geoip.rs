//! IP → location with a MaxMind-format database. Two shapes are read: the
//! GeoIP2 City structure (GeoLite2 City, DB-IP City Lite: country, region,
//! city) that `MALLARD_GEOIP_DB` names, and the flat `country_code` records
//! of the default database embedded in the binary (ip-location-db's
//! geo-whois-asn-country, country level). A lookup never fails: an address
//! the database does not know has no location.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::path::Path;

use maxminddb::{Reader, WithinOptions};
use serde::Deserialize;

/// The default database (`make geoip`), embedded at compile time.
const DEFAULT_DB: &[u8] = include_bytes!(env!("MALLARD_GEOIP_DEFAULT_FILE"));

/// Where an IP address is, as far as the database knows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Location {
    /// ISO 3166-1 alpha-2.
    pub country: Option<String>,
    /// ISO 3166-2 subdivision, e.g. `DE-BE`.
    pub region: Option<String>,
    /// English city name.
    pub city: Option<String>,
}

#[derive(Deserialize)]
struct Names<'a> {
    #[serde(borrow)]
    en: Option<&'a str>,
}

#[derive(Deserialize)]
struct Place<'a> {
    #[serde(borrow)]
    iso_code: Option<&'a str>,
    #[serde(borrow)]
    names: Option<Names<'a>>,
}

/// The fields of both shapes a record may have; the rest is skipped.
#[derive(Deserialize)]
struct Record<'a> {
    #[serde(borrow)]
    country: Option<Place<'a>>,
    #[serde(borrow)]
    subdivisions: Option<Vec<Place<'a>>>,
    #[serde(borrow)]
    city: Option<Place<'a>>,
    #[serde(borrow)]
    country_code: Option<&'a str>,
}

/// A City record's city, by its GeoNames id.
#[derive(Deserialize)]
struct CityOnly<'a> {
    #[serde(borrow)]
    city: Option<NamedCity<'a>>,
}

#[derive(Deserialize)]
struct NamedCity<'a> {
    geoname_id: Option<u32>,
    #[serde(borrow)]
    names: Option<Names<'a>>,
}

impl Record<'_> {
    fn location(&self) -> Location {
        let country = self.country.as_ref().and_then(|c| c.iso_code).or(self.country_code).map(str::to_string);
        let subdivision = self.subdivisions.as_ref().and_then(|s| s.first()).and_then(|s| s.iso_code);
        let region = match (&country, subdivision) {
            (Some(c), Some(sub)) => Some(format!("{c}-{sub}")),
            _ => None,
        };
        let city = self.city.as_ref().and_then(|c| c.names.as_ref()).and_then(|n| n.en).map(str::to_string);
        Location { country, region, city }
    }
}

pub struct GeoIp {
    reader: Reader<Cow<'static, [u8]>>,
    /// Where the database came from, for the logs and `/health/detailed`.
    source: String,
}

impl GeoIp {
    /// A database file (`MALLARD_GEOIP_DB`).
    pub fn open(path: &Path) -> Result<Self, String> {
        let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
        let reader = Reader::from_source(Cow::Owned(bytes)).map_err(|e| e.to_string())?;
        Ok(GeoIp { reader, source: path.display().to_string() })
    }

    /// The embedded country-level database.
    pub fn embedded() -> Result<Self, String> {
        let reader = Reader::from_source(Cow::Borrowed(DEFAULT_DB)).map_err(|e| e.to_string())?;
        Ok(GeoIp { reader, source: "embedded".into() })
    }

    /// The database's type, e.g. `GeoLite2-City`.
    pub fn database_type(&self) -> &str {
        &self.reader.metadata().database_type
    }

    /// `embedded`, or the path of the file it was read from.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The location of a public address; none for private, loopback,
    /// link-local and other non-routable ones (some databases, the default
    /// among them, map private ranges to a country).
    pub fn lookup(&self, ip: IpAddr) -> Location {
        if !is_public(ip) {
            return Location::default();
        }
        match self.reader.lookup(ip).and_then(|r| r.decode::<Record<'_>>()) {
            Ok(Some(record)) => record.location(),
            _ => Location::default(),
        }
    }
}

impl GeoIp {
    /// The English names of the cities with these GeoNames ids (how
    /// Plausible stores a city), found by walking the database's records,
    /// each decoded once, until all are found. Empty for a database
    /// without cities.
    pub fn city_names(&self, ids: &HashSet<u32>) -> HashMap<u32, String> {
        let mut names = HashMap::new();
        let Ok(networks) = self.reader.networks(WithinOptions::default()) else { return names };
        let mut seen = HashSet::new();
        for found in networks.flatten() {
            if names.len() == ids.len() {
                break;
            }
            if !found.offset().is_some_and(|o| seen.insert(o)) {
                continue;
            }
            if let Ok(Some(CityOnly { city: Some(NamedCity { geoname_id: Some(id), names: Some(n) }) })) =
                found.decode::<CityOnly<'_>>()
                && ids.contains(&id)
                && let Some(en) = n.en
            {
                names.insert(id, en.to_string());
            }
        }
        names
    }
}

/// Whether `ip` is routable on the internet (std's `is_global` is unstable).
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_broadcast()
                || v4.is_documentation()
                || v4.is_unspecified()
                || v4.is_multicast()
                || a == 0
                || a >= 240
                // 100.64.0.0/10, carrier-grade NAT
                || (a == 100 && (64..128).contains(&b)))
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || v6.is_unique_local()
                || v6.is_unicast_link_local()
                // 2001:db8::/32, documentation
                || (first == 0x2001 && v6.segments()[1] == 0x0db8))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_database_knows_countries_and_nothing_of_private_addresses() {
        let db = GeoIp::embedded().unwrap();
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "192.168.0.1",
            "172.16.0.1",
            "100.64.1.1",
            "169.254.1.1",
            "::1",
            "fd00::2",
            "fe80::1",
        ] {
            assert_eq!(db.lookup(private.parse().unwrap()), Location::default(), "{private}");
        }
        // Whatever the database says for a public address, it is a country
        // code only: this database has no regions or cities.
        let known = ["8.8.8.8", "1.1.1.1", "81.2.69.142", "2001:4860:4860::8888"]
            .iter()
            .map(|ip| db.lookup(ip.parse().unwrap()))
            .filter(|l| l.country.is_some())
            .inspect(|l| assert!(l.region.is_none() && l.city.is_none(), "{l:?}"))
            .count();
        assert!(known >= 3, "only {known} of 4 public addresses have a country");
    }
}
