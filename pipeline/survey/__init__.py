"""The student survey (seed-facts §6): the form's fields and rules, and the cleaning of submitted records."""
