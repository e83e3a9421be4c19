"""What a run tells people: the text and Markdown summaries, the HTML data-quality report with
its inline charts, and the webhook notice of a failed, rejected or rolled-back run."""
