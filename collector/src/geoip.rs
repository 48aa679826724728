//! IP → location with a MaxMind-format database (GeoLite2 City, DB-IP City
//! Lite). Without a database every location is empty; a lookup never fails.

use std::net::IpAddr;
use std::path::Path;

use maxminddb::{Reader, geoip2};

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

pub struct GeoIp {
    reader: Reader<Vec<u8>>,
}

impl GeoIp {
    pub fn open(path: &Path) -> Result<Self, String> {
        Reader::open_readfile(path).map(|reader| GeoIp { reader }).map_err(|e| e.to_string())
    }

    /// The database's type, e.g. `GeoLite2-City`.
    pub fn database_type(&self) -> &str {
        &self.reader.metadata().database_type
    }

    pub fn lookup(&self, ip: IpAddr) -> Location {
        let Ok(result) = self.reader.lookup(ip) else {
            return Location::default();
        };
        let Ok(Some(city)) = result.decode::<geoip2::City<'_>>() else {
            return Location::default();
        };
        let country = city.country.iso_code.map(str::to_string);
        let region = match (&country, city.subdivisions.first().and_then(|s| s.iso_code)) {
            (Some(c), Some(sub)) => Some(format!("{c}-{sub}")),
            _ => None,
        };
        let city_name = city.city.names.english.map(str::to_string);
        Location { country, region, city: city_name }
    }
}
