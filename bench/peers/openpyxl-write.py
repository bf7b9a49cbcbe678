#!/usr/bin/env python3
"""The openpyxl peer of gigintel's XLSX export (bench/exports-xlsx.ts runs it; Debian's python3-openpyxl).

usage: openpyxl-write.py <rows> <out.xlsx> [csv]
Generates the same rows as bench/exports-data.ts (same formula) and writes them with openpyxl's
write-only workbook: typed cells with the same number formats (integers #,##0, money in major
units with a per-currency format, ratio 0.00%, dates), a bold header, frozen first row and an
autofilter. With "csv", writes the rows with the csv module instead (the CSV bench's peer).
Prints one JSON line: write_ms (generation included, as on the TS side), rows, openpyxl version.
"""
import csv
import datetime as dt
import json
import sys
import time

import openpyxl
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

T0 = dt.datetime(2026, 1, 1)
CURRENCIES = ["USD", "EUR", "JPY"]
EXP = {"USD": 100, "EUR": 100, "JPY": 1}
FMT = {"USD": '"USD "#,##0.00', "EUR": '"EUR "#,##0.00', "JPY": '"JPY "#,##0'}
HEADERS = ["Provider", "Category", "Currency", "Jobs", "Hires", "GMV", "Platform fees", "Refunds",
           "Take rate", "Day", "Created at", "Score"]


def row(i):
    cur = CURRENCIES[i % 3]
    return (f"provider_{i % 50000}", f"category_{i % 37}", cur, i, (i * 7919) % 100000,
            ((i * 104729) % 10000000) - 1000000, (i * 31) % 500000, -((i * 17) % 90000),
            (i % 1000) / 1000, T0 + dt.timedelta(days=i % 365), T0 + dt.timedelta(milliseconds=i * 37000),
            (i % 10007) / 7)


def write_xlsx(n, path):
    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet("Data")
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = f"A1:L{n + 1}"
    bold = Font(bold=True)
    header = []
    for h in HEADERS:
        c = WriteOnlyCell(ws, value=h)
        c.font = bold
        header.append(c)
    ws.append(header)

    def cell(value, fmt):
        c = WriteOnlyCell(ws, value=value)
        c.number_format = fmt
        return c

    for i in range(n):
        p, cat, cur, jobs, hires, gmv, fees, refunds, rate, day, at, score = row(i)
        e, f = EXP[cur], FMT[cur]
        ws.append([p, cat, cur, cell(jobs, "#,##0"), cell(hires, "#,##0"), cell(gmv / e, f), cell(fees / e, f),
                   cell(refunds / e, f), cell(rate, "0.00%"), cell(day, "yyyy-mm-dd"),
                   cell(at, "yyyy-mm-dd hh:mm:ss"), score])
    wb.save(path)


def write_csv(n, path):
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(HEADERS)
        for i in range(n):
            p, cat, cur, jobs, hires, gmv, fees, refunds, rate, day, at, score = row(i)
            e = EXP[cur]
            w.writerow([p, cat, cur, jobs, hires, gmv / e, fees / e, refunds / e, rate,
                        day.strftime("%Y-%m-%d"), at.strftime("%Y-%m-%dT%H:%M:%S.000Z"), score])


def main():
    n, path = int(sys.argv[1]), sys.argv[2]
    mode = sys.argv[3] if len(sys.argv) > 3 else "xlsx"
    t0 = time.perf_counter()
    (write_csv if mode == "csv" else write_xlsx)(n, path)
    print(json.dumps({"write_ms": (time.perf_counter() - t0) * 1000, "rows": n, "openpyxl": openpyxl.__version__}))


if __name__ == "__main__":
    main()
