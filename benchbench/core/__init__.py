"""The core every other part stands on: errors, environment, dtypes and devices, units, files, results, targets."""
