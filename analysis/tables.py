"""The tables the analysis scripts print: Markdown for the docs, or aligned plain text."""


def print_table(header, rows, markdown):
    """Prints HEADER and ROWS (lists of strings) as a Markdown table or as aligned columns."""
    if markdown:
        print("| " + " | ".join(header) + " |")
        print("|" + "---|" * len(header))
        for row in rows:
            print("| " + " | ".join(row) + " |")
    else:
        widths = [max(len(str(r[i])) for r in rows + [header]) for i in range(len(header))]
        for row in [header] + rows:
            print("  ".join(str(c).ljust(w) for c, w in zip(row, widths)))
