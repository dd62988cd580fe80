"""`benchbench site`: a static results site built from the history database and results folders.

`data` reads what was measured (runs, profiles, kernel rows), `trends` turns it into series over commits with
their CI bands and the gate's regression verdicts, `pages` renders the HTML, and `build` writes the site: plain
files that work from `file://` and on any static host, with the data as JSON beside the pages and the plots
drawn in the browser by Plotly (shipped inside the `plotly` package, the `site` extra).
"""
