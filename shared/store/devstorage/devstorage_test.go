package devstorage

import "testing"

func TestDevelopmentStorage(t *testing.T) {
	want := "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=" + Key +
		";TableEndpoint=http://127.0.0.1:10002/devstoreaccount1;"
	if got := ConnString(TablePort); got != want {
		t.Errorf("ConnString(%d) = %q, want %q", TablePort, got, want)
	}
	for conn, want := range map[string]bool{
		"UseDevelopmentStorage=true": true, "usedevelopmentstorage=TRUE;": true, " UseDevelopmentStorage=true ": true,
		"UseDevelopmentStorage=false": false, "memory": false, "": false,
	} {
		if got := Is(conn); got != want {
			t.Errorf("Is(%q) = %v, want %v", conn, got, want)
		}
	}
}
