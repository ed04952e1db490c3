"""Lost-customer questionnaire, fielding exports, response import, validation and data quality.

Planned (issue 3): ``read_responses``, ``validate_responses``, ``flag_quality``,
``summarize_reasons`` producing the ``ChoiceDataset`` that ``analysis`` accepts.
"""
