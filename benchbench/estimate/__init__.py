"""Estimates: the hardware table, measured ceilings, roofline, training and inference cost, scaling plans."""
