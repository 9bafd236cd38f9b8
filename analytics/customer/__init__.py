"""The borrower's side: grace periods and penalty interest (penalty), customer grading (grading), the blacklist
(blacklist), the credit-report repayment history (credit_report) and the customer view (view)."""
