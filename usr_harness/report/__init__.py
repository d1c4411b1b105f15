"""Evidence and reports: tree fingerprints, the report model, JUnit, the HTML dashboard and replay."""
