"""The leadership workbook, plots and notebooks (issue 6): ``write_workbook``."""
