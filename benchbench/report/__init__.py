"""Reports: a document model (sections of paragraphs, tables, code and plots) rendered as Markdown and HTML."""
