"""kanjiedge: ETL Character Database -> handwritten Japanese character recognizers for edge devices."""

__version__ = "0.1.0"
